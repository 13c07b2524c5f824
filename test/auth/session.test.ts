/**
 * Web UI sessions (POST/GET/DELETE /api/v1/session): an HttpOnly cookie honoured by the discovery API,
 * by the admin API only with the session's X-Wharf-CSRF header, and nowhere else.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { queryMetadata, testBackend } from "../helpers/backends.js";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  ADMIN,
  addRule,
  adminCall,
  basic,
  createRobot,
  createUser,
  pushImage,
  randomHex,
  requestToken,
  startAuthServer,
  type AuthServer,
  type Credentials,
} from "./support.js";

interface SignedIn {
  cookie: string;
  csrf: string;
  /** The Cookie header a browser would send. */
  header: string;
}

const HOUR = 3600_000;

describe("web UI sessions", { timeout: 300_000 }, () => {
  let server: AuthServer;
  let url: string;
  const alice: Credentials = { name: "alice", password: "alice-password-1" };
  /** Every cookie and CSRF value handed out: none may appear in the server's log. */
  const secrets: string[] = [];

  const signInResponse = (username: string, password: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/api/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify({ username, password }),
    });

  async function signIn(creds: Credentials): Promise<SignedIn> {
    const res = await signInResponse(creds.name, creds.password);
    const text = await res.text();
    assert.equal(res.status, 201, text);
    const cookie = /^wharf_session=([^;]*);/.exec(res.headers.get("set-cookie") ?? "")?.[1];
    assert.ok(cookie, `a session cookie: ${res.headers.get("set-cookie")}`);
    const csrf = (JSON.parse(text) as { csrf: string }).csrf;
    secrets.push(cookie, csrf);
    return { cookie, csrf, header: `wharf_session=${cookie}` };
  }

  const getSession = (cookieHeader?: string) =>
    fetch(`${url}/api/v1/session`, { headers: cookieHeader ? { Cookie: cookieHeader } : {} });

  /** The admin API as the web UI calls it: the cookie, and the CSRF header unless `csrf` is null. */
  const uiAdminCall = (session: SignedIn, method: string, path: string, csrf: string | null = session.csrf) =>
    fetch(`${url}/api/v1${path}`, {
      method,
      headers: { Cookie: session.header, ...(csrf === null ? {} : { "X-Wharf-CSRF": csrf }) },
    });

  const repositoriesSeen = async (headers: Record<string, string>) => {
    const res = await fetch(`${url}/api/v1/repositories?n=1000`, { headers });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return (JSON.parse(text) as { repositories: { name: string }[] }).repositories.map((r) => r.name).sort();
  };

  const errorOf = async (res: Response) =>
    ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0];

  before(async () => {
    server = await startAuthServer({
      WHARF_MAX_FAILED_LOGINS: "3",
      WHARF_LOG_LEVEL: "debug",
      // As behind a TLS-terminating load balancer (for the Secure attribute).
      WHARF_TRUSTED_PROXIES: "127.0.0.1",
    });
    url = server.url;
    await createUser(url, alice.name, alice.password);
    await addRule(url, "user:alice", "team-a/**", ["pull"]);
    await addRule(url, "anonymous", "public/**", ["pull"]);
    const admin = basic(ADMIN);
    for (const repo of ["public/app", "team-a/app", "team-b/app"]) await pushImage(url, repo, "v1", admin);
  });

  after(async () => {
    await server?.stop();
  });

  test("sign-in sets an HttpOnly SameSite=Strict cookie and returns the user and a CSRF value", async () => {
    const res = await signInResponse(alice.name, alice.password);
    const body = (await res.json()) as { user: unknown; csrf: string; expiresAt: string };
    assert.equal(res.status, 201);
    const setCookie = res.headers.get("set-cookie") ?? "";
    assert.match(setCookie, /^wharf_session=[A-Za-z0-9_-]{43}; /);
    for (const attribute of ["HttpOnly", "SameSite=Strict", "Path=/", `Max-Age=${7 * 24 * 3600}`]) {
      assert.ok(setCookie.split("; ").includes(attribute), `${attribute} in ${setCookie}`);
    }
    assert.ok(!/Secure/i.test(setCookie), "no Secure over plain HTTP");
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.deepEqual(body.user, { name: "alice", admin: false });
    assert.match(body.csrf, /^[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(body.expiresAt);
    assert.ok(expires > Date.now() + 11 * HOUR && expires <= Date.now() + 12 * HOUR, body.expiresAt);
    const cookie = /^wharf_session=([^;]*)/.exec(setCookie)?.[1] ?? "";
    secrets.push(cookie, body.csrf);

    // Over TLS (here: through a trusted proxy that terminated it) the cookie is Secure too.
    const tls = await signInResponse(alice.name, alice.password, { "X-Forwarded-Proto": "https" });
    assert.equal(tls.status, 201);
    assert.ok((tls.headers.get("set-cookie") ?? "").split("; ").includes("Secure"), "Secure over TLS");
    const tlsCookie = /^wharf_session=([^;]*)/.exec(tls.headers.get("set-cookie") ?? "")?.[1] ?? "";
    secrets.push(tlsCookie, ((await tls.json()) as { csrf: string }).csrf);

    // The database keeps the cookie's hash, never the cookie.
    const rows = await queryMetadata<{ id_hash: string; subject: string; csrf: string }>(
      server.dataDir,
      "SELECT id_hash, subject, csrf FROM ui_sessions WHERE subject = ?",
      ["alice"],
    );
    const hash = createHash("sha256").update(cookie).digest("hex");
    assert.ok(
      rows.some((r) => r.id_hash === hash && r.csrf === body.csrf),
      "a row keyed by the hash",
    );
    assert.ok(
      rows.every((r) => r.id_hash !== cookie),
      "no row keyed by the cookie itself",
    );
  });

  test("GET /api/v1/session: the user with the cookie, nobody without; an unknown cookie is cleared", async () => {
    const session = await signIn(alice);
    const signedIn = await getSession(session.header);
    assert.equal(signedIn.status, 200);
    assert.deepEqual(await signedIn.json(), {
      authEnabled: true,
      user: { name: "alice", admin: false },
      csrf: session.csrf,
    });
    assert.equal(signedIn.headers.get("set-cookie"), null);

    const anonymous = await getSession();
    assert.deepEqual(await anonymous.json(), { authEnabled: true, user: null, csrf: null });
    assert.equal(anonymous.headers.get("set-cookie"), null);

    const unknown = await getSession(`other=1; wharf_session=${"A".repeat(43)}`);
    assert.deepEqual(await unknown.json(), { authEnabled: true, user: null, csrf: null });
    assert.match(unknown.headers.get("set-cookie") ?? "", /^wharf_session=; .*Max-Age=0/);
  });

  test("an expired session is gone: nobody signed in, its row deleted", async () => {
    const session = await signIn(alice);
    const hash = createHash("sha256").update(session.cookie).digest("hex");
    const past = new Date(Date.now() - 1000).toISOString();
    await queryMetadata(server.dataDir, "UPDATE ui_sessions SET expires_at = ? WHERE id_hash = ?", [
      past,
      hash,
    ]);
    const res = await getSession(session.header);
    assert.deepEqual(await res.json(), { authEnabled: true, user: null, csrf: null });
    assert.match(res.headers.get("set-cookie") ?? "", /Max-Age=0/);
    const rows = await queryMetadata(server.dataDir, "SELECT id_hash FROM ui_sessions WHERE id_hash = ?", [
      hash,
    ]);
    assert.equal(rows.length, 0);
  });

  test("use slides the idle expiry (at most once a minute), never past the absolute limit", async () => {
    const session = await signIn(alice);
    const hash = createHash("sha256").update(session.cookie).digest("hex");
    const row = async () =>
      (
        await queryMetadata<{ expires_at: string; last_seen_at: string }>(
          server.dataDir,
          "SELECT expires_at, last_seen_at FROM ui_sessions WHERE id_hash = ?",
          [hash],
        )
      )[0];
    const first = await row();
    assert.ok(first, "the session's row");
    // Seen just now: a use within the minute writes nothing.
    assert.equal((await getSession(session.header)).status, 200);
    assert.deepEqual(await row(), first);

    // Last seen two minutes ago, signed in six days and a half ago: the idle expiry would pass the
    // seventh day, so the absolute limit holds it.
    const createdAt = Date.now() - 6.5 * 24 * HOUR;
    await queryMetadata(
      server.dataDir,
      "UPDATE ui_sessions SET created_at = ?, last_seen_at = ?, expires_at = ? WHERE id_hash = ?",
      [
        new Date(createdAt).toISOString(),
        new Date(Date.now() - 120_000).toISOString(),
        new Date(Date.now() + HOUR).toISOString(),
        hash,
      ],
    );
    assert.equal((await getSession(session.header)).status, 200);
    const slid = await row();
    assert.ok(slid, "the session's row");
    assert.equal(slid.expires_at, new Date(createdAt + 7 * 24 * HOUR).toISOString());
    assert.ok(Date.parse(slid.last_seen_at) > Date.now() - 60_000, slid.last_seen_at);
  });

  test("the discovery API shows a session's user what they may pull; anonymous sees public ones", async () => {
    const session = await signIn(alice);
    assert.deepEqual(await repositoriesSeen({ Cookie: session.header }), ["public/app", "team-a/app"]);
    assert.deepEqual(await repositoriesSeen({}), ["public/app"]);
    const admin = await signIn(ADMIN);
    assert.deepEqual(await repositoriesSeen({ Cookie: admin.header }), [
      "public/app",
      "team-a/app",
      "team-b/app",
    ]);
    const hidden = await fetch(`${url}/api/v1/repositories/team-b/app/artifacts`, {
      headers: { Cookie: session.header },
    });
    assert.equal(hidden.status, 404);
  });

  test("the admin API takes a session only with its X-Wharf-CSRF header, and admin routes an admin", async () => {
    const session = await signIn(alice);
    for (const csrf of [null, "wrong", `${session.csrf}x`]) {
      const res = await uiAdminCall(session, "GET", "/whoami", csrf);
      assert.equal(res.status, 403, `csrf ${csrf}`);
      assert.deepEqual(await errorOf(res), {
        code: "DENIED",
        message: "missing or wrong X-Wharf-CSRF header",
      });
    }
    // Another session's value is wrong too.
    const other = await signIn(alice);
    assert.equal((await uiAdminCall(session, "GET", "/whoami", other.csrf)).status, 403);

    const whoami = await uiAdminCall(session, "GET", "/whoami");
    assert.equal(whoami.status, 200);
    assert.deepEqual(await whoami.json(), { name: "alice", kind: "user", admin: false });
    const users = await uiAdminCall(session, "GET", "/users");
    assert.equal(users.status, 403);
    assert.equal((await errorOf(users))?.code, "DENIED");

    const admin = await signIn(ADMIN);
    assert.equal((await uiAdminCall(admin, "GET", "/users", null)).status, 403);
    const listed = await uiAdminCall(admin, "GET", "/users");
    assert.equal(listed.status, 200);
    const names = ((await listed.json()) as { users: { name: string }[] }).users.map((u) => u.name);
    assert.ok(names.includes("alice"), names.join());
    // A write, the same way.
    const created = await fetch(`${url}/api/v1/access`, {
      method: "POST",
      headers: { Cookie: admin.header, "X-Wharf-CSRF": admin.csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ subject: "user:alice", pattern: "team-c/**", actions: ["pull"] }),
    });
    assert.equal(created.status, 201, await created.text());
  });

  test("cross-site requests and form bodies are refused", async () => {
    const evil = await signInResponse(alice.name, alice.password, { Origin: "http://evil.example" });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get("set-cookie"), null);
    const crossSite = await signInResponse(alice.name, alice.password, { "Sec-Fetch-Site": "cross-site" });
    assert.equal(crossSite.status, 403);
    const form = await fetch(`${url}/api/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ username: alice.name, password: alice.password }),
    });
    assert.equal(form.status, 415);
    const huge = await signInResponse(alice.name, "x".repeat(8192));
    assert.equal(huge.status, 413);

    const admin = await signIn(ADMIN);
    const res = await fetch(`${url}/api/v1/users`, {
      headers: { Cookie: admin.header, "X-Wharf-CSRF": admin.csrf, "Sec-Fetch-Site": "same-site" },
    });
    assert.equal(res.status, 403);
    const out = await fetch(`${url}/api/v1/session`, {
      method: "DELETE",
      headers: { Cookie: admin.header, "X-Wharf-CSRF": admin.csrf, Origin: "http://evil.example" },
    });
    assert.equal(out.status, 403);
    assert.equal((await uiAdminCall(admin, "GET", "/users")).status, 200, "the session lives on");
  });

  test("/v2/ and /auth/token ignore the cookie", async () => {
    const admin = await signIn(ADMIN);
    const headers = { Cookie: admin.header, "X-Wharf-CSRF": admin.csrf };
    const ping = await fetch(`${url}/v2/`, { headers });
    assert.equal(ping.status, 401);
    assert.match(ping.headers.get("www-authenticate") ?? "", /^Bearer /);
    const tags = await fetch(`${url}/v2/team-b/app/tags/list`, { headers });
    assert.equal(tags.status, 401);
    const token = await fetch(`${url}/auth/token?service=wharf&scope=repository:team-b/app:pull`, {
      headers,
    });
    assert.equal(token.status, 200);
    const claims = JSON.parse(
      Buffer.from(
        ((await token.json()) as { token: string }).token.split(".")[1] ?? "",
        "base64url",
      ).toString(),
    ) as { sub?: string; access: unknown[] };
    assert.deepEqual(claims.access, [], "an anonymous token: nothing granted on team-b");
  });

  test("sign-out needs the CSRF header, ends the session and clears the cookie", async () => {
    const session = await signIn(alice);
    const signOut = (csrf?: string) =>
      fetch(`${url}/api/v1/session`, {
        method: "DELETE",
        headers: { Cookie: session.header, ...(csrf ? { "X-Wharf-CSRF": csrf } : {}) },
      });
    assert.equal((await signOut()).status, 403);
    assert.equal(
      ((await (await getSession(session.header)).json()) as { user: unknown }).user !== null,
      true,
    );
    const out = await signOut(session.csrf);
    assert.equal(out.status, 204);
    assert.match(out.headers.get("set-cookie") ?? "", /^wharf_session=; .*Max-Age=0/);
    assert.deepEqual(await (await getSession(session.header)).json(), {
      authEnabled: true,
      user: null,
      csrf: null,
    });
    assert.equal((await uiAdminCall(session, "GET", "/whoami")).status, 401);
    assert.deepEqual(await repositoriesSeen({ Cookie: session.header }), ["public/app"]);
    // Signing out again is no error.
    assert.equal((await signOut(session.csrf)).status, 204);
  });

  test("a wrong password answers 401 without a Basic challenge and counts towards the lockout", async () => {
    const locked = await createUser(url, `lock-${randomHex(3)}`, "lock-password-1");
    for (let i = 0; i < 3; i++) {
      const res = await signInResponse(locked.name, "wrong-password");
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("www-authenticate"), null);
      assert.equal(res.headers.get("set-cookie"), null);
      assert.equal((await errorOf(res))?.code, "UNAUTHORIZED");
    }
    // Locked out (WHARF_MAX_FAILED_LOGINS=3), the right password included; the token service agrees.
    const res = await signInResponse(locked.name, locked.password);
    assert.equal(res.status, 429);
    assert.ok(Number(res.headers.get("retry-after")) > 0, "Retry-After");
    assert.equal(res.headers.get("set-cookie"), null);
    assert.equal((await requestToken(url, [], locked)).status, 429);

    const audit = await adminCall(url, "GET", `/audit?action=login&actor=${locked.name}`);
    const events = ((await audit.json()) as { events: { outcome: string; detail: { via?: string } }[] })
      .events;
    assert.ok(
      events.some((e) => e.outcome === "failed" && e.detail.via === "web-ui"),
      JSON.stringify(events),
    );
  });

  test("robots are refused: they use tokens", async () => {
    const robot = await createRobot(url, `ci-${randomHex(3)}`, ["team-a/**"], ["pull"]);
    const res = await signInResponse(robot.name, robot.password);
    assert.equal(res.status, 403);
    assert.deepEqual(await errorOf(res), { code: "DENIED", message: "robots use tokens, not the web UI" });
    assert.equal(res.headers.get("set-cookie"), null);
  });

  test("a password change or the user's removal ends the user's sessions", async () => {
    const bob = await createUser(url, `bob-${randomHex(3)}`, "bob-password-1");
    const first = await signIn(bob);
    const second = await signIn(bob);
    const aliceSession = await signIn(alice);
    const changed = await adminCall(url, "PUT", `/users/${bob.name}/password`, {
      password: "bob-password-2",
    });
    assert.equal(changed.status, 204, await changed.text());
    for (const session of [first, second]) {
      assert.equal(((await (await getSession(session.header)).json()) as { user: unknown }).user, null);
      assert.equal((await uiAdminCall(session, "GET", "/whoami")).status, 401);
    }
    assert.equal((await uiAdminCall(aliceSession, "GET", "/whoami")).status, 200, "others' sessions live");

    const third = await signIn({ name: bob.name, password: "bob-password-2" });
    assert.equal((await uiAdminCall(third, "GET", "/whoami")).status, 200);
    const removed = await adminCall(url, "DELETE", `/users/${bob.name}`);
    assert.equal(removed.status, 204);
    assert.equal((await uiAdminCall(third, "GET", "/whoami")).status, 401);
    const rows = await queryMetadata(server.dataDir, "SELECT id_hash FROM ui_sessions WHERE subject = ?", [
      bob.name,
    ]);
    assert.equal(rows.length, 0);
    // A new account of the same name does not inherit anything.
    await createUser(url, bob.name, "bob-password-3");
    assert.equal((await getSession(third.header)).headers.get("set-cookie")?.includes("Max-Age=0"), true);
  });

  test(
    "a session made on one node works on another, and a sign-out on either ends it on both",
    { skip: testBackend() === "embedded" ? "one database for two nodes needs PostgreSQL" : false },
    async () => {
      let peer: TestServer | undefined;
      try {
        peer = await startWharf({ backend: server.server.backend, env: { WHARF_LOG_LEVEL: "debug" } });
        const session = await signIn(alice);
        const onPeer = await fetch(`${peer.url}/api/v1/whoami`, {
          headers: { Cookie: session.header, "X-Wharf-CSRF": session.csrf },
        });
        assert.equal(onPeer.status, 200);
        const out = await fetch(`${peer.url}/api/v1/session`, {
          method: "DELETE",
          headers: { Cookie: session.header, "X-Wharf-CSRF": session.csrf },
        });
        assert.equal(out.status, 204);
        assert.equal((await uiAdminCall(session, "GET", "/whoami")).status, 401);
        assert.ok(!secrets.some((s) => peer?.output().includes(s)), "no session secret in the peer's log");
      } finally {
        await peer?.stop();
      }
    },
  );

  test("no session cookie or CSRF value reaches the server's log", async () => {
    // (A message on every assert.ok: without one, node:assert parses the transpiled one-line source.)
    assert.ok(secrets.length > 10, `sessions were made: ${secrets.length / 2}`);
    const log = server.server.output();
    assert.match(log, /"url":"\/api\/v1\/session"/, "the debug log has the session requests");
    const leaked = secrets.filter((s) => log.includes(s));
    assert.deepEqual(leaked, []);
  });
});
