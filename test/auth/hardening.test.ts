/**
 * Hardening from outside testing (issue 10): the login lockout under parallel guesses, credentials the
 * admin API accepts, cross-site requests, hostile repository names, challenge injection, concurrent
 * removal of administrators, and what the audit log records of refusals. All over real HTTP against a
 * started server; the CLI where a client is involved.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { parseChallenges } from "../../src/client/auth-challenge.js";
import { cliHome, type CliHome } from "../client/cli.js";
import {
  ADMIN,
  accessOf,
  addRule,
  adminCall,
  basic,
  bearer,
  createRobot,
  createUser,
  errorCodes,
  getToken,
  postToken,
  pushImage,
  requestToken,
  sleep,
  startAuthServer,
  type AuthServer,
  type Credentials,
} from "./support.js";

const MAX_FAILED = 5;

interface AuditEvent {
  seq: number;
  actor: string;
  client: string;
  action: string;
  repository: string | null;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}

async function audit(url: string, query: Record<string, string>): Promise<AuditEvent[]> {
  const res = await adminCall(url, "GET", `/audit?${new URLSearchParams({ limit: "1000", ...query })}`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { events: AuditEvent[] }).events;
}

async function firstError(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { errors: { code: string; message: string }[] };
  assert.ok(body.errors[0], "an OCI error body");
  return body.errors[0];
}

/** A raw HTTP GET, for headers fetch() will not send (Host). */
function rawGet(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: target.port, path, method: "GET", headers, setHost: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A loopback HTTP server for one test: its host[:port] and how to stop it. */
async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ host: string; close(): Promise<void> }> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

describe("hardening", { timeout: 600_000 }, () => {
  let server: AuthServer;
  let home: CliHome;
  let bob: Credentials;

  before(async () => {
    server = await startAuthServer({ WHARF_MAX_FAILED_LOGINS: String(MAX_FAILED) });
    home = await cliHome();
    bob = await createUser(server.url, "bob", "bob-Password-1");
    await addRule(server.url, "user:bob", "team/**", ["pull"]);
  });
  after(async () => {
    await server?.stop();
    await home?.cleanup();
  });

  /** `wharf login` in the shared CLI home, as the given account. */
  async function loginAs(creds: Credentials): Promise<void> {
    const login = await home.run(["login", server.server.host, "-u", creds.name, "--password-stdin"], {
      input: creds.password,
    });
    assert.equal(login.code, 0, login.stderr);
  }

  test("60 parallel wrong passwords: only auth.maxFailedLogins are evaluated, the rest get 429 with Retry-After", async () => {
    await createUser(server.url, "carol", "carol-Password-1");
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        postToken(server.url, {
          grant_type: "password",
          username: "carol",
          password: `wrong-guess-${i}`,
          service: "wharf",
        }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 401).length, MAX_FAILED, `statuses: ${statuses.join(",")}`);
    assert.equal(statuses.filter((s) => s === 429).length, 60 - MAX_FAILED);
    for (const res of responses) {
      if (res.status !== 429) {
        await res.arrayBuffer();
        continue;
      }
      const retryAfter = Number(res.headers.get("retry-after"));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 15 * 60, `${retryAfter}`);
      const error = await firstError(res);
      assert.equal(error.code, "TOOMANYREQUESTS");
      assert.match(error.message, /try again in \d+ (seconds|minutes)/);
    }
    // The audit log shows what happened: five wrong passwords checked, then the lockout.
    const events = await audit(server.url, { actor: "carol", action: "login" });
    const reasons = events.map((e) => e.detail?.reason);
    assert.equal(reasons.filter((r) => r === "wrong_password").length, MAX_FAILED);
    assert.ok(reasons.includes("locked_out"));
    // The right password is locked out too, for the window.
    const locked = await postToken(server.url, {
      grant_type: "password",
      username: "carol",
      password: "carol-Password-1",
    });
    assert.equal(locked.status, 429);
    await locked.arrayBuffer();
  });

  test("parallel logins with the right password all succeed (no lockout from reservations)", async () => {
    const dave = await createUser(server.url, "dave", "dave-Password-1");
    const responses = await Promise.all(
      Array.from({ length: 3 * MAX_FAILED }, () =>
        requestToken(server.url, ["repository:team/x:pull"], dave),
      ),
    );
    for (const res of responses) {
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  });

  test("right-password logins between wrong ones do not reset the name's failure count", async () => {
    await createUser(server.url, "hank", "hank-Password-1");
    const guess = (password: string) =>
      postToken(server.url, { grant_type: "password", username: "hank", password, service: "wharf" });
    const statuses: number[] = [];
    // The owner (or a CI job) logs in after every wrong guess; still only MAX_FAILED guesses count.
    for (let i = 0; i < MAX_FAILED; i++) {
      const wrong = await guess(`wrong-guess-${i}`);
      statuses.push(wrong.status);
      await wrong.arrayBuffer();
      const right = await guess("hank-Password-1");
      statuses.push(right.status);
      await right.arrayBuffer();
    }
    const extra = await guess("one-guess-too-many");
    await extra.arrayBuffer();
    assert.deepEqual(
      statuses.slice(0, -1),
      Array.from({ length: MAX_FAILED * 2 - 1 }, (_, i) => (i % 2 === 0 ? 401 : 200)),
      `statuses: ${statuses.join(",")}`,
    );
    assert.equal(extra.status, 429, `the guess after ${MAX_FAILED} failures is locked out`);
    assert.ok(Number(extra.headers.get("retry-after")) >= 1);
  });

  test("the admin CLI's Basic credentials are not sent along a redirect to another host", async () => {
    // Another host that records the credentials reaching it, and a front for the registry that
    // forwards everything as it is but redirects the admin call there.
    const reached: (string | undefined)[] = [];
    const elsewhere = await listen((req, res) => {
      reached.push(req.headers.authorization ?? req.headers.cookie);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ users: [] }));
    });
    const atFront: (string | undefined)[] = [];
    const front = await listen((req, res) => {
      if (req.url?.startsWith("/api/v1/users")) {
        atFront.push(req.headers.authorization);
        res.writeHead(302, { location: `http://${elsewhere.host}${req.url}`, "content-length": "0" });
        return res.end();
      }
      const up = httpRequest(new URL(req.url ?? "/", server.url), {
        method: req.method,
        headers: req.headers,
      });
      up.on("response", (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on("error", (err) => res.destroy(err));
      req.pipe(up);
    });
    const own = await cliHome();
    try {
      const login = await own.run(["login", front.host, "-u", ADMIN.name, "--password-stdin"], {
        input: ADMIN.password,
      });
      assert.equal(login.code, 0, login.stderr);
      await own.run(["user", "ls", "--registry", front.host]);
      assert.equal(atFront[0], basic(ADMIN), "the admin call went to the registry with Basic credentials");
      assert.ok(reached.length > 0, "the redirect was followed");
      assert.deepEqual(
        reached,
        reached.map(() => undefined),
        "no credentials reached the other host",
      );
    } finally {
      await own.cleanup();
      await front.close();
      await elsewhere.close();
    }
  });

  test("a pull-only repository token cannot use the admin API; an admin-scoped token of an admin can", async () => {
    const bobToken = await getToken(server.url, ["repository:team/x:pull"], bob);
    const change = await fetch(`${server.url}/api/v1/users/bob/password`, {
      method: "PUT",
      headers: { Authorization: bearer(bobToken), "Content-Type": "application/json" },
      body: JSON.stringify({ password: "taken-Over-123" }),
    });
    assert.ok([401, 403].includes(change.status), `password change with a pull token: ${change.status}`);
    await change.arrayBuffer();
    const stillBob = await getToken(server.url, [], bob);
    assert.ok(stillBob, "bob's password is unchanged");

    const adminPull = await getToken(server.url, ["repository:team/x:pull"], ADMIN);
    const users = await fetch(`${server.url}/api/v1/users`, {
      headers: { Authorization: bearer(adminPull) },
    });
    assert.ok([401, 403].includes(users.status), `user list with a pull token: ${users.status}`);
    assert.doesNotMatch(await users.text(), /"bob"/);

    const adminScoped = await getToken(server.url, ["registry:admin:*"], ADMIN);
    assert.deepEqual(accessOf(adminScoped), [{ type: "registry", name: "admin", actions: ["*"] }]);
    const listed = await fetch(`${server.url}/api/v1/users`, {
      headers: { Authorization: bearer(adminScoped) },
    });
    assert.equal(listed.status, 200);
    await listed.arrayBuffer();

    // Nobody else is granted the admin scope.
    const robot = await createRobot(server.url, "ci-admin-try", ["team/**"], ["pull"]);
    assert.deepEqual(accessOf(await getToken(server.url, ["registry:admin:*"], bob)), []);
    assert.deepEqual(accessOf(await getToken(server.url, ["registry:admin:*"], robot)), []);
  });

  test("a robot's secret on the admin API gets 403 'robots cannot use the admin API'", async () => {
    const robot = await createRobot(server.url, "ci-robot", ["team/**"], ["pull"]);
    for (const path of ["/users", "/whoami"]) {
      const res = await fetch(`${server.url}/api/v1${path}`, { headers: { Authorization: basic(robot) } });
      assert.equal(res.status, 403, path);
      const error = await firstError(res);
      assert.equal(error.code, "DENIED");
      assert.equal(error.message, "robots cannot use the admin API");
    }
  });

  test("changing your own password needs the current one; an admin resets another's without it", async () => {
    const erin = await createUser(server.url, "erin", "erin-Password-1");
    const missing = await adminCall(
      server.url,
      "PUT",
      "/users/erin/password",
      { password: "erin-New-12345" },
      erin,
    );
    assert.equal(missing.status, 400);
    assert.match((await firstError(missing)).message, /currentPassword/);
    const wrong = await adminCall(
      server.url,
      "PUT",
      "/users/erin/password",
      { password: "erin-New-12345", currentPassword: "not-her-password" },
      erin,
    );
    assert.equal(wrong.status, 403);
    await wrong.arrayBuffer();
    const right = await adminCall(
      server.url,
      "PUT",
      "/users/erin/password",
      { password: "erin-New-12345", currentPassword: erin.password },
      erin,
    );
    assert.equal(right.status, 204);
    await right.arrayBuffer();
    const reset = await adminCall(server.url, "PUT", "/users/erin/password", { password: "erin-Reset-123" });
    assert.equal(reset.status, 204);
    await reset.arrayBuffer();
    assert.ok(await getToken(server.url, [], { name: "erin", password: "erin-Reset-123" }));
  });

  test("wharf user passwd for your own account asks for the current password", async () => {
    const frank = await createUser(server.url, "frank", "frank-Password-1");
    await loginAs(frank);
    const oneLine = await home.run(
      ["user", "passwd", "frank", "--password-stdin", "--registry", server.server.host],
      { input: "frank-New-1234" },
    );
    assert.equal(oneLine.code, 2, oneLine.stderr);
    assert.match(oneLine.stderr, /current password/);
    const changed = await home.run(
      ["user", "passwd", "frank", "--password-stdin", "--registry", server.server.host],
      { input: `${frank.password}\nfrank-New-1234\n` },
    );
    assert.equal(changed.code, 0, changed.stderr);
    assert.ok(await getToken(server.url, [], { name: "frank", password: "frank-New-1234" }));
  });

  test("admin bodies must be application/json (415); cross-site requests are refused (403)", async () => {
    const json = JSON.stringify({ name: "mallory", password: "mallory-Password-1", admin: true });
    for (const type of [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ]) {
      const res = await fetch(`${server.url}/api/v1/users`, {
        method: "POST",
        headers: { Authorization: basic(ADMIN), "Content-Type": type },
        body: json,
      });
      assert.equal(res.status, 415, type);
      assert.deepEqual(await errorCodes(res), ["UNSUPPORTED"]);
    }
    const crossSite: Record<string, string>[] = [
      { Origin: "http://evil.example" },
      { Origin: "null" },
      { "Sec-Fetch-Site": "cross-site" },
      { "Sec-Fetch-Site": "same-site" },
    ];
    for (const headers of crossSite) {
      const res = await fetch(`${server.url}/api/v1/users`, {
        method: "POST",
        headers: { Authorization: basic(ADMIN), "Content-Type": "application/json", ...headers },
        body: json,
      });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.deepEqual(await errorCodes(res), ["DENIED"]);
    }
    const users = (await (await adminCall(server.url, "GET", "/users")).json()) as {
      users: { name: string }[];
    };
    assert.ok(!users.users.some((u) => u.name === "mallory"), "no request above created the admin");

    // The server's own origin is fine (a web UI served from it).
    const sameOrigin = await fetch(`${server.url}/api/v1/whoami`, {
      headers: { Authorization: basic(ADMIN), Origin: server.url, "Sec-Fetch-Site": "same-origin" },
    });
    assert.equal(sameOrigin.status, 200);
    await sameOrigin.arrayBuffer();
  });

  test("the admin API never answers with a Basic challenge (browsers would prompt and cache)", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: basic({ name: "admin", password: "wrong-password-1" }) },
    ];
    for (const headers of attempts) {
      const res = await fetch(`${server.url}/api/v1/users`, { headers });
      assert.equal(res.status, 401);
      await res.arrayBuffer();
      const challenge = res.headers.get("www-authenticate") ?? "";
      assert.doesNotMatch(challenge, /basic/i);
      const [parsed] = parseChallenges(challenge);
      assert.equal(parsed?.scheme, "bearer");
      assert.equal(parsed?.params.scope, "registry:admin:*");
    }
  });

  test("a 6,000-character repository name is refused before any rule sees it; the server keeps answering", async () => {
    await addRule(server.url, "authenticated", "public/*-*-*", ["pull"]);
    const hostile = `public/${"a-".repeat(3000)}`;
    const [scoped, path, other] = await Promise.all([
      requestToken(server.url, [`repository:${hostile}:pull`], bob),
      fetch(`${server.url}/v2/${hostile}/tags/list`, { headers: { Authorization: basic(bob) } }),
      requestToken(server.url, ["repository:public/a-b-c:pull"], bob),
    ]);
    assert.equal(scoped.status, 400);
    const error = await firstError(scoped);
    assert.equal(error.code, "NAME_INVALID");
    assert.match(error.message, /255 characters/);
    assert.equal(path.status, 400);
    assert.deepEqual(await errorCodes(path), ["NAME_INVALID"]);
    assert.equal(other.status, 200);
    const token = ((await other.json()) as { token: string }).token;
    assert.deepEqual(accessOf(token), [{ type: "repository", name: "public/a-b-c", actions: ["pull"] }]);
    // Without credentials too: the name is checked before anything else.
    const anonymous = await fetch(`${server.url}/v2/${hostile}/manifests/latest`);
    assert.equal(anonymous.status, 400);
    await anonymous.arrayBuffer();
  });

  test("admin API patterns are bounded and must be well-formed globs", async () => {
    for (const pattern of [
      `team/${"*".repeat(300)}`,
      "team-{a,b",
      "team-[ab",
      "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}",
    ]) {
      const rule = await adminCall(server.url, "POST", "/access", {
        subject: "user:bob",
        pattern,
        actions: ["pull"],
      });
      assert.equal(rule.status, 400, pattern);
      assert.deepEqual(await errorCodes(rule), ["INVALID_REQUEST"]);
      const robot = await adminCall(server.url, "POST", "/tokens", {
        name: "bad-glob",
        repositories: [pattern],
        actions: ["pull"],
        expiresAt: null,
      });
      assert.equal(robot.status, 400, pattern);
      await robot.arrayBuffer();
    }
  });

  test("a Host or a path holding a quote cannot add parameters to the challenge", async () => {
    const evilHost = `${server.server.host}",realm="http://evil.example/steal`;
    const injected = await rawGet(server.url, "/v2/", { Host: evilHost });
    const challenge = injected.headers["www-authenticate"];
    if (challenge !== undefined) {
      const [parsed] = parseChallenges(challenge);
      assert.equal(parsed?.duplicate, undefined, String(challenge));
      assert.doesNotMatch(parsed?.params.realm ?? "", /evil\.example/);
    } else {
      assert.equal(injected.status, 400, injected.body);
    }
    assert.doesNotMatch(JSON.stringify(injected.headers), /realm="http:\/\/evil/);

    for (const path of [
      '/v2/team/a"b/manifests/latest',
      "/v2/team/a%22,realm=%22http://evil/manifests/latest",
    ]) {
      const res = await rawGet(server.url, path, { Host: server.server.host });
      const header = res.headers["www-authenticate"];
      if (header !== undefined) {
        const [parsed] = parseChallenges(header);
        assert.equal(parsed?.duplicate, undefined, String(header));
        assert.equal(parsed?.params.realm, `${server.url}/auth/token`);
      } else {
        assert.equal(res.status, 400, `${path}: ${res.body}`);
      }
    }

    // A normal challenge: one realm, from the Host, properly quoted.
    const plain = await rawGet(server.url, "/v2/team/x/manifests/latest", { Host: server.server.host });
    assert.equal(plain.status, 401);
    const [parsed] = parseChallenges(plain.headers["www-authenticate"]);
    assert.equal(parsed?.duplicate, undefined);
    assert.equal(parsed?.params.realm, `${server.url}/auth/token`);
    assert.equal(parsed?.params.scope, "repository:team/x:pull");
  });

  test("wharf refuses a challenge with a duplicate realm and never contacts either realm", async () => {
    let realmHits = 0;
    const fake: Server = createServer((req, res) => {
      if (req.url?.startsWith("/steal") || req.url?.startsWith("/auth")) {
        realmHits++;
        res.writeHead(200, { "content-type": "application/json" }).end('{"token":"x"}');
        return;
      }
      const host = req.headers.host ?? "";
      res
        .writeHead(401, {
          "content-type": "application/json",
          "www-authenticate": `Bearer realm="http://${host}/auth/token",service="wharf",realm="http://${host}/steal"`,
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    });
    fake.listen(0, "127.0.0.1");
    await once(fake, "listening");
    const address = `127.0.0.1:${(fake.address() as AddressInfo).port}`;
    try {
      const result = await home.run(["login", address, "-u", "someone", "--password-stdin"], {
        input: "some-Password-1",
      });
      assert.notEqual(result.code, 0, result.stderr);
      assert.match(result.stderr, /realm given twice/);
      assert.equal(realmHits, 0, "no realm of an ambiguous challenge is trusted");
    } finally {
      fake.close();
    }
  });

  test("access rules for accounts that do not exist, and admin validation errors, are 4xx with clear messages", async () => {
    for (const subject of ["user:nobody", "robot:nobody"]) {
      const res = await adminCall(server.url, "POST", "/access", {
        subject,
        pattern: "team/**",
        actions: ["pull"],
      });
      assert.equal(res.status, 404, subject);
      const error = await firstError(res);
      assert.equal(error.code, "NOT_FOUND");
      assert.match(error.message, /nobody/);
    }
    await loginAs(ADMIN);
    const cli = await home.run([
      "access",
      "add",
      "user:nobody",
      "team/**",
      "pull",
      "--registry",
      server.server.host,
    ]);
    assert.notEqual(cli.code, 0, cli.stderr);
    assert.match(cli.stderr, /no user named nobody/);

    const invalid: [string, string, unknown][] = [
      ["POST", "/users", { name: "weak", password: "short" }],
      ["POST", "/users", { name: "Bad Name", password: "long-enough-1" }],
      ["POST", "/tokens", { name: "no-repo", repositories: [], actions: ["pull"], expiresAt: null }],
      [
        "POST",
        "/tokens",
        { name: "bad-actions", repositories: ["team/**"], actions: ["fly"], expiresAt: null },
      ],
      ["POST", "/access", { subject: "user:bob", pattern: "team/**", actions: ["fly"] }],
    ];
    for (const [method, path, body] of invalid) {
      const res = await adminCall(server.url, method, path, body);
      assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      const error = await firstError(res);
      assert.equal(error.code, "INVALID_REQUEST");
      assert.ok(error.message.length > 10, error.message);
    }
  });

  test("the audit log records refused attempts (once per repeat window) and why logins failed", async () => {
    const repo = `team/audit-${Date.now()}`;
    const uniform: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${server.url}/v2/${repo}/blobs/uploads/`, {
        method: "POST",
        headers: { Authorization: basic(bob) },
      });
      assert.equal(res.status, 403);
      uniform.push(await res.text());
    }
    assert.equal(new Set(uniform).size, 1, "the client always gets the same answer");
    const denied = (await audit(server.url, { actor: "bob", repository: repo })).filter(
      (e) => e.outcome === "denied",
    );
    assert.equal(denied.length, 1, JSON.stringify(denied));
    assert.equal(denied[0]?.action, "repository.push");

    // Why each login failed, for administrators only: the client sees one answer for all of them.
    const revoked = await createRobot(server.url, "revoked-bot", ["team/**"], ["pull"]);
    const gone = await adminCall(server.url, "DELETE", "/tokens/revoked-bot");
    assert.equal(gone.status, 204);
    const expiring = await createRobot(
      server.url,
      "expiring-bot",
      ["team/**"],
      ["pull"],
      new Date(Date.now() + 1500).toISOString(),
    );
    await sleep(2000);
    const answers = new Set<string>();
    for (const creds of [
      { name: "no-such-account", password: "whatever-pass-1" },
      { name: "bob", password: "not-bobs-password" },
      revoked,
      expiring,
    ]) {
      const res = await requestToken(server.url, [], creds);
      assert.equal(res.status, 401, creds.name);
      answers.add(await res.text());
    }
    assert.equal(answers.size, 1, "unknown, wrong, revoked and expired answer alike");
    const reasons = new Map(
      (await audit(server.url, { action: "login" }))
        .filter((e) => e.outcome === "failed")
        .map((e) => [e.actor, e.detail?.reason]),
    );
    assert.equal(reasons.get("no-such-account"), "unknown_account");
    assert.equal(reasons.get("bob"), "wrong_password");
    assert.equal(reasons.get("revoked-bot"), "revoked");
    assert.equal(reasons.get("expiring-bot"), "expired");
  });

  test("a failed login is recorded the same way wherever it happens: reason and where", async () => {
    const gina = await createUser(server.url, "gina", "gina-Password-1");
    const wrong = { name: "gina", password: "not-ginas-password" };
    const answers = [
      await requestToken(server.url, [], wrong),
      await fetch(`${server.url}/v2/team/x/tags/list`, { headers: { Authorization: basic(wrong) } }),
      await adminCall(server.url, "GET", "/whoami", undefined, wrong),
      await adminCall(
        server.url,
        "PUT",
        "/users/gina/password",
        { password: "gina-Password-2", currentPassword: wrong.password },
        gina,
      ),
    ];
    assert.deepEqual(
      answers.map((r) => r.status),
      [401, 401, 401, 403],
    );
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    const failed = (await audit(server.url, { actor: "gina", action: "login" })).filter(
      (e) => e.outcome === "failed",
    );
    assert.deepEqual(
      failed.map((e) => e.detail).sort((a, b) => String(a?.via).localeCompare(String(b?.via))),
      ["admin-api", "basic", "password change", "token"].map((via) => ({ reason: "wrong_password", via })),
    );
  });

  test("manifest.push records the tags, and wharf audit shows them", async () => {
    const image = await pushImage(server.url, "team/tagged", "v7", basic(ADMIN));
    const [event] = await audit(server.url, { action: "manifest.push", repository: "team/tagged" });
    assert.equal(event?.target, image.digest);
    assert.deepEqual(event?.detail?.tags, ["v7"]);
    await loginAs(ADMIN);
    const table = await home.run([
      "audit",
      "--action",
      "manifest.push",
      "--repo",
      "team/tagged",
      "--registry",
      server.server.host,
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /tags v7/);
  });
});

describe("two administrators removing each other", { timeout: 600_000 }, () => {
  let server: AuthServer;
  before(async () => {
    server = await startAuthServer();
  });
  after(async () => server?.stop());

  test("never leaves the registry without an administrator", async () => {
    let survivor: Credentials = ADMIN;
    for (let round = 0; round < 8; round++) {
      const other = { name: `admin-${round}`, password: `admin-Password-${round}` };
      const created = await adminCall(server.url, "POST", "/users", { ...other, admin: true }, survivor);
      assert.equal(created.status, 201);
      await created.arrayBuffer();
      // The other admin logs in once first, so both requests go straight to the check.
      const warm = await adminCall(server.url, "GET", "/whoami", undefined, other);
      assert.equal(warm.status, 200);
      await warm.arrayBuffer();
      const [a, b] = await Promise.all([
        adminCall(server.url, "DELETE", `/users/${other.name}`, undefined, survivor),
        adminCall(server.url, "DELETE", `/users/${survivor.name}`, undefined, other),
      ]);
      const statuses = [a.status, b.status];
      await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
      // One removal wins; the other is refused (409 last admin, or 401/404 when its caller is gone).
      assert.equal(statuses.filter((s) => s === 204).length, 1, `round ${round}: ${statuses.join(",")}`);
      survivor = a.status === 204 ? survivor : other;
      const users = await adminCall(server.url, "GET", "/users", undefined, survivor);
      assert.equal(users.status, 200, `round ${round}: the survivor is still an administrator`);
      const admins = ((await users.json()) as { users: { name: string; admin: boolean }[] }).users.filter(
        (u) => u.admin,
      );
      assert.deepEqual(
        admins.map((u) => u.name),
        [survivor.name],
      );
    }
  });
});

describe("the denied-audit throttle", { timeout: 300_000 }, () => {
  let server: AuthServer;
  before(async () => {
    server = await startAuthServer();
  });
  after(async () => {
    await server?.stop();
  });

  /** A refused push from a given loopback address (all of 127.0.0.0/8 reaches the server). */
  function refusedPush(agent: Agent, address: string, repo: string, creds: Credentials): Promise<number> {
    const target = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          path: `/v2/${repo}/blobs/uploads/`,
          method: "POST",
          headers: { authorization: basic(creds), "content-length": "0" },
          localAddress: address,
          agent,
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  test("rotating client addresses buys no more than a global number of records per window", async () => {
    const mallory = await createUser(server.url, "mallory", "mallory-Password-1");
    await addRule(server.url, "user:mallory", "team/**", ["pull"]);
    // 15 addresses, each refused 100 distinct pushes (its own per-address budget): 1,500 refusals.
    const ADDRESSES = 15;
    const PER_ADDRESS = 100;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: ADDRESSES }, async (_, a) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          for (let i = 0; i < PER_ADDRESS; i++) {
            statuses.push(await refusedPush(agent, `127.0.0.${10 + a}`, `team/r${a}-${i}`, mallory));
          }
        } finally {
          agent.destroy();
        }
      }),
    );
    assert.deepEqual(new Set(statuses), new Set([403]));
    // Count the recorded refusals, page by page.
    let recorded = 0;
    const clients = new Set<string>();
    let before: number | undefined;
    for (;;) {
      const page = await audit(server.url, {
        actor: "mallory",
        action: "repository.push",
        ...(before === undefined ? {} : { before: String(before) }),
      });
      for (const event of page) clients.add(event.client);
      recorded += page.length;
      if (page.length < 1000) break;
      before = page.at(-1)?.seq;
    }
    assert.ok(clients.size > 1, `the refusals came from several addresses: ${[...clients].join(", ")}`);
    assert.ok(recorded >= 100, `refusals are still recorded (${recorded})`);
    assert.ok(recorded <= 1000, `at most 1,000 refusals are recorded per window, got ${recorded}`);
  });
});
