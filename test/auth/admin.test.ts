import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { backendOf } from "../helpers/backends.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";

/**
 * Access control end to end: secure defaults of `wharf serve`, the admin CLI (`wharf user|token|access|
 * audit`) against the /api/v1 admin API, and resistance to password guessing and user enumeration.
 */

const repoRoot = resolve(import.meta.dirname, "..", "..");
const ADMIN_PASSWORD = "admin-Secret-123";
const BOB_PASSWORD = "bob-Password-456";
const BOB_NEW_PASSWORD = "bob-Changed-789";

interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  client: string;
  action: string;
  repository: string | null;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}

interface ErrorBody {
  errors: { code: string; message: string }[];
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, show(result));
  return result;
}

function json<T>(result: CliResult): T {
  ok(result);
  return JSON.parse(result.stdout) as T;
}

/** Creates an administrator straight in a data directory, as an operator bootstraps a registry. */
async function bootstrap(home: CliHome, dataDir: string, name: string, password: string): Promise<void> {
  ok(
    await home.run(["user", "add", name, "--admin", "--password-stdin", "--data-dir", dataDir], {
      input: password,
      env: await backendOf(dataDir),
    }),
  );
}

/** Anonymous start of a blob upload: what any push does first. */
async function anonymousPushStatus(server: TestServer, repo: string): Promise<number> {
  const res = await fetch(`${server.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await res.arrayBuffer();
  return res.status;
}

/** Runs `wharf serve` until it listens (then stops it) or exits on its own. */
function serveOnce(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; listening: boolean; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin", "wharf"), "serve", ...args], {
      env: { ...process.env, WHARF_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let listening = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`wharf serve neither listened nor exited in 20 s:\n${output}`));
    }, 20_000);
    const onData = (d: string) => {
      output += d;
      if (!listening && /listening on /.test(output)) {
        listening = true;
        child.kill("SIGTERM");
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, listening, output });
    });
  });
}

describe("secure defaults", { timeout: 600_000 }, () => {
  let home: CliHome;
  const dirs: string[] = [];

  before(async () => {
    home = await cliHome();
    await writeFile(join(home.dir, "artifact.txt"), "hello\n");
  });
  after(async () => {
    await home?.cleanup();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  async function dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "wharf-auth-"));
    dirs.push(dir);
    return dir;
  }

  test("with no users and no configuration a loopback server is open, and has no accounts", async () => {
    const server = await startWharf();
    try {
      ok(await home.run(["push", `${server.host}/open/x:v1`, "artifact.txt"]));
      assert.equal(await anonymousPushStatus(server, "open/y"), 202);
      // No built-in account: the admin API says authentication is off, whatever is presented.
      const res = await fetch(`${server.url}/api/v1/users`, {
        headers: { authorization: basic("admin", "admin") },
      });
      assert.equal(res.status, 403);
      assert.match(((await res.json()) as ErrorBody).errors[0]?.message ?? "", /not enabled/);
      assert.match(server.output(), /authentication is off/);
    } finally {
      await server.stop();
    }
  });

  test("serving a non-loopback address without authentication is refused with exit code 2", async () => {
    const result = await serveOnce(["--listen", "0.0.0.0:0", "--data-dir", await dataDir()], {});
    assert.equal(result.listening, false, result.output);
    assert.equal(result.code, 2, result.output);
    assert.match(result.output, /auth\.enabled/);
    assert.match(result.output, /auth\.allowOpen/);
  });

  test("WHARF_AUTH_ALLOW_OPEN=true serves a non-loopback address open, on purpose", async () => {
    const result = await serveOnce(["--listen", "0.0.0.0:0", "--data-dir", await dataDir()], {
      WHARF_AUTH_ALLOW_OPEN: "true",
    });
    assert.equal(result.listening, true, result.output);
    assert.match(result.output, /listening on http:\/\/0\.0\.0\.0:\d+/);
  });

  test("WHARF_AUTH_ENABLED=true without users refuses anonymous pushes and knows no default password", async () => {
    const server = await startWharf({ env: { WHARF_AUTH_ENABLED: "true" } });
    try {
      assert.equal(await anonymousPushStatus(server, "team/x"), 401);
      const push = await home.run(["push", `${server.host}/team/x:v1`, "artifact.txt"]);
      assert.equal(push.code, 4, show(push));
      for (const [user, password] of [
        ["admin", "admin"],
        ["admin", "password"],
        ["wharf", "wharf"],
        ["root", "root"],
      ] as const) {
        const res = await fetch(`${server.url}/auth/token?scope=repository:team/x:push`, {
          headers: { authorization: basic(user, password) },
        });
        assert.equal(res.status, 401, `${user}:${password} must not log in`);
        await res.arrayBuffer();
      }
      const login = await home.run(["login", server.host, "-u", "admin", "--password-stdin"], {
        input: "admin",
      });
      assert.equal(login.code, 4, show(login));
    } finally {
      await server.stop();
    }
  });

  test("the bootstrap user add on a running open server turns authentication on, for good", async () => {
    const dir = await dataDir();
    let server = await startWharf({ dataDir: dir });
    try {
      assert.equal(await anonymousPushStatus(server, "team/x"), 202);
      await bootstrap(home, dir, "root-admin", ADMIN_PASSWORD);
      const start = Date.now();
      let status = 202;
      while (Date.now() - start < 3000) {
        status = await anonymousPushStatus(server, "team/x");
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 401, "the running server must require authentication once a user exists");
      assert.ok(Date.now() - start < 2500, `took ${Date.now() - start} ms`);
    } finally {
      await server.stop();
    }
    server = await startWharf({ dataDir: dir });
    try {
      assert.equal(await anonymousPushStatus(server, "team/x"), 401);
      const res = await fetch(`${server.url}/api/v1/whoami`, {
        headers: { authorization: basic("root-admin", ADMIN_PASSWORD) },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { name: "root-admin", kind: "user", admin: true });
    } finally {
      await server.stop();
    }
  });

  test("the bootstrap refuses short passwords and bad names, and creates nothing", async () => {
    const dir = await dataDir();
    const short = await home.run(["user", "add", "admin", "--admin", "--password-stdin", "--data-dir", dir], {
      input: "short",
      env: await backendOf(dir),
    });
    assert.equal(short.code, 2, show(short));
    assert.match(short.stderr, /8 to 1024 characters/);
    const badName = await home.run(
      ["user", "add", "Admin!", "--admin", "--password-stdin", "--data-dir", dir],
      { input: ADMIN_PASSWORD, env: await backendOf(dir) },
    );
    assert.equal(badName.code, 2, show(badName));
    assert.match(badName.stderr, /invalid name/);
    // Still open: no user was created.
    const server = await startWharf({ dataDir: dir });
    try {
      assert.equal(await anonymousPushStatus(server, "team/x"), 202);
    } finally {
      await server.stop();
    }
  });
});

describe("the admin CLI through the admin API", { timeout: 600_000 }, () => {
  let server: TestServer;
  let admin: CliHome;
  let bob: CliHome;
  let robot: CliHome;
  let dir: string;
  let robotSecret = "";
  let ruleId = "";
  const issuedTokens: string[] = [];
  const reg = () => ["--registry", server.host];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-admin-"));
    [admin, bob, robot] = await Promise.all([cliHome(), cliHome(), cliHome()]);
    await bootstrap(admin, dir, "admin", ADMIN_PASSWORD);
    server = await startWharf({ dataDir: dir, env: { WHARF_LOG_LEVEL: "debug" } });
    for (const home of [admin, bob, robot]) await writeFile(join(home.dir, "artifact.txt"), "payload\n");
  });
  after(async () => {
    await server?.stop();
    await Promise.all([admin, bob, robot].map((h) => h?.cleanup()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("wharf login checks the password before storing it", async () => {
    const wrong = await admin.run(["login", server.host, "-u", "admin", "--password-stdin"], {
      input: "not-the-password",
    });
    assert.equal(wrong.code, 4, show(wrong));
    ok(await admin.run(["login", server.host, "-u", "admin", "--password-stdin"], { input: ADMIN_PASSWORD }));
  });

  test("user add, user ls --json", async () => {
    const added = json<{ name: string; admin: boolean }>(
      await admin.run(["user", "add", "bob", "--password-stdin", ...reg(), "--json"], {
        input: BOB_PASSWORD,
      }),
    );
    assert.equal(added.name, "bob");
    assert.equal(added.admin, false);
    const users = json<{ name: string; admin: boolean; createdAt: string }[]>(
      await admin.run(["user", "ls", ...reg(), "--json"]),
    );
    assert.deepEqual(users.map((u) => [u.name, u.admin]).sort(), [
      ["admin", true],
      ["bob", false],
    ]);
    assert.ok(users.every((u) => !("password" in u) && !("passwordHash" in u)));
    const again = await admin.run(["user", "add", "bob", "--password-stdin", ...reg()], {
      input: BOB_PASSWORD,
    });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already taken/);
    ok(await bob.run(["login", server.host, "-u", "bob", "--password-stdin"], { input: BOB_PASSWORD }));
  });

  test("non-admin users get 403 from admin commands", async () => {
    for (const args of [
      ["user", "ls"],
      ["user", "add", "eve", "--password-stdin"],
      ["user", "rm", "admin"],
      ["user", "passwd", "admin", "--password-stdin"],
      ["token", "create", "--name", "mine", "--repo", "**", "--actions", "push"],
      ["token", "ls"],
      ["access", "add", "user:bob", "**", "push"],
      ["access"],
      ["audit"],
    ]) {
      const result = await bob.run([...args, ...reg()], { input: "some-Password-1" });
      assert.equal(result.code, 4, `${args.join(" ")}: ${show(result)}`);
      assert.match(result.stderr, /DENIED/, args.join(" "));
    }
    const res = await fetch(`${server.url}/api/v1/users`, {
      headers: { authorization: basic("bob", BOB_PASSWORD) },
    });
    assert.equal(res.status, 403);
    await res.arrayBuffer();
    const whoami = await fetch(`${server.url}/api/v1/whoami`, {
      headers: { authorization: basic("bob", BOB_PASSWORD) },
    });
    assert.deepEqual(await whoami.json(), { name: "bob", kind: "user", admin: false });
    const anonymous = await fetch(`${server.url}/api/v1/users`);
    assert.equal(anonymous.status, 401);
    await anonymous.arrayBuffer();
  });

  test("user passwd: a user changes their own password; the old one stops working", async () => {
    ok(
      await bob.run(["user", "passwd", "bob", "--password-stdin", ...reg()], {
        input: `${BOB_PASSWORD}\n${BOB_NEW_PASSWORD}\n`,
      }),
    );
    const old = await bob.run(["login", server.host, "-u", "bob", "--password-stdin"], {
      input: BOB_PASSWORD,
    });
    assert.equal(old.code, 4, show(old));
    ok(await bob.run(["login", server.host, "-u", "bob", "--password-stdin"], { input: BOB_NEW_PASSWORD }));
    const short = await admin.run(["user", "passwd", "bob", "--password-stdin", ...reg()], {
      input: "short",
    });
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /8 to 1024 characters/);
  });

  test("removing the last administrator is refused with 409; other users can be removed", async () => {
    const result = await admin.run(["user", "rm", "admin", ...reg()]);
    assert.notEqual(result.code, 0, show(result));
    assert.match(result.stderr, /CONFLICT/);
    assert.match(result.stderr, /last administrator/);
    const res = await fetch(`${server.url}/api/v1/users/admin`, {
      method: "DELETE",
      headers: { authorization: basic("admin", ADMIN_PASSWORD) },
    });
    assert.equal(res.status, 409);
    await res.arrayBuffer();

    ok(await admin.run(["user", "add", "temp", "--password-stdin", ...reg()], { input: "temp-Password-1" }));
    ok(await admin.run(["user", "rm", "temp", ...reg()]));
    const users = json<{ name: string }[]>(await admin.run(["user", "ls", ...reg(), "--json"]));
    assert.deepEqual(users.map((u) => u.name).sort(), ["admin", "bob"]);
    const missing = await admin.run(["user", "rm", "temp", ...reg()]);
    assert.equal(missing.code, 3, show(missing));
  });

  test("token create prints the secret once; it works as a password inside its scope only", async () => {
    const before = Date.now();
    const created = json<{
      name: string;
      secret: string;
      repositories: string[];
      actions: string[];
      expiresAt: string;
    }>(
      await admin.run([
        "token",
        "create",
        "--name",
        "ci",
        "--repo",
        "team-a/**",
        "--actions",
        "pull,push",
        "--expires",
        "30d",
        ...reg(),
        "--json",
      ]),
    );
    assert.equal(created.name, "ci");
    assert.match(created.secret, /^wharf_[A-Za-z0-9_-]{40,}$/);
    assert.deepEqual(created.repositories, ["team-a/**"]);
    assert.deepEqual(created.actions, ["pull", "push"]);
    const expiresIn = Date.parse(created.expiresAt) - before;
    assert.ok(Math.abs(expiresIn - 30 * 86_400_000) < 60_000, created.expiresAt);
    robotSecret = created.secret;

    ok(await robot.run(["login", server.host, "-u", "ci", "--password-stdin"], { input: robotSecret }));
    ok(await robot.run(["push", `${server.host}/team-a/x:v1`, "artifact.txt"]));
    const outside = await robot.run(["push", `${server.host}/team-b/x:v1`, "artifact.txt"]);
    assert.equal(outside.code, 4, show(outside));
    const pulled = await robot.run(["pull", `${server.host}/team-a/x:v1`, "-o", "out"]);
    ok(pulled);

    // A token fetched with the secret, for the log check at the end.
    const res = await fetch(`${server.url}/auth/token?scope=repository:team-a/x:pull`, {
      headers: { authorization: basic("ci", robotSecret) },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string };
    issuedTokens.push(body.token);
  });

  test("token ls never shows secrets", async () => {
    const listed = await admin.run(["token", "ls", ...reg(), "--json"]);
    const tokens = json<Record<string, unknown>[]>(listed);
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0]?.name, "ci");
    assert.ok(!("secret" in (tokens[0] ?? {})));
    assert.ok(!listed.stdout.includes(robotSecret));
    const table = ok(await admin.run(["token", "ls", ...reg()]));
    assert.match(table.stdout, /ci\s+team-a\/\*\*\s+pull,push/);
    assert.match(table.stdout, /active/);
    assert.ok(!table.stdout.includes(robotSecret) && !table.stderr.includes(robotSecret));
  });

  test("token revoke takes effect at once", async () => {
    // The robot has just used its (cached) Basic credentials and holds a valid bearer token.
    ok(await robot.run(["push", `${server.host}/team-a/x:v2`, "artifact.txt"]));
    const token = issuedTokens[0] ?? "";
    const withToken = await fetch(`${server.url}/v2/team-a/x/manifests/v1`, {
      headers: { authorization: `Bearer ${token}`, accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(withToken.status, 200);
    await withToken.arrayBuffer();

    ok(await admin.run(["token", "revoke", "ci", ...reg()]));
    const push = await robot.run(["push", `${server.host}/team-a/x:v3`, "artifact.txt"]);
    assert.equal(push.code, 4, show(push));
    const pull = await robot.run(["pull", `${server.host}/team-a/x:v1`, "-o", "out2"]);
    assert.equal(pull.code, 4, show(pull));
    const login = await robot.run(["login", server.host, "-u", "ci", "--password-stdin"], {
      input: robotSecret,
    });
    assert.equal(login.code, 4, show(login));
    const stale = await fetch(`${server.url}/v2/team-a/x/manifests/v1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(stale.status, 401);
    await stale.arrayBuffer();

    const tokens = json<{ name: string; revokedAt: string | null }[]>(
      await admin.run(["token", "ls", ...reg(), "--json"]),
    );
    assert.ok(tokens[0]?.revokedAt);
    const again = await admin.run(["token", "revoke", "ci", ...reg()]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /already revoked/);
  });

  test("access add, access, access rm: rules apply and stop applying at once", async () => {
    const denied = await bob.run(["push", `${server.host}/team-a/bob:v1`, "artifact.txt"]);
    assert.equal(denied.code, 4, show(denied));

    const rule = json<{ id: string; subject: string; pattern: string; actions: string[] }>(
      await admin.run(["access", "add", "user:bob", "team-a/**", "pull,push", ...reg(), "--json"]),
    );
    assert.equal(rule.subject, "user:bob");
    assert.equal(rule.pattern, "team-a/**");
    assert.deepEqual(rule.actions, ["pull", "push"]);
    assert.match(rule.id, /^[0-9a-f]+$/);
    ruleId = rule.id;

    const listed = json<{ id: string; subject: string; pattern: string }[]>(
      await admin.run(["access", ...reg(), "--json"]),
    );
    assert.deepEqual(
      listed.map((r) => [r.id, r.subject, r.pattern]),
      [[ruleId, "user:bob", "team-a/**"]],
    );
    const table = ok(await admin.run(["access", "ls", ...reg()]));
    assert.match(table.stdout, new RegExp(`${ruleId}\\s+user:bob\\s+team-a/\\*\\*\\s+pull,push\\s+admin`));

    ok(await bob.run(["push", `${server.host}/team-a/bob:v1`, "artifact.txt"]));
    const outside = await bob.run(["push", `${server.host}/team-b/bob:v1`, "artifact.txt"]);
    assert.equal(outside.code, 4, show(outside));
    const del = await bob.run(["rm", `${server.host}/team-a/bob:v1`]);
    assert.equal(del.code, 4, `push and pull do not include delete: ${show(del)}`);

    ok(await admin.run(["access", "rm", ruleId, ...reg()]));
    const after = json<unknown[]>(await admin.run(["access", ...reg(), "--json"]));
    assert.deepEqual(after, []);
    const revoked = await bob.run(["push", `${server.host}/team-a/bob:v2`, "artifact.txt"]);
    assert.equal(revoked.code, 4, show(revoked));
    const missing = await admin.run(["access", "rm", ruleId, ...reg()]);
    assert.equal(missing.code, 3, show(missing));
  });

  test("validation errors are clear and exit non-zero", async () => {
    const cases: { args: string[]; input?: string; message: RegExp }[] = [
      {
        args: ["user", "add", "Bad Name", "--password-stdin"],
        input: "long-enough-1",
        message: /invalid name/,
      },
      { args: ["user", "add", "anonymous", "--password-stdin"], input: "long-enough-1", message: /reserved/ },
      { args: ["user", "add", "carol", "--password-stdin"], input: "short", message: /8 to 1024/ },
      {
        args: ["access", "add", "user:bob", "team-a/../x", "pull"],
        message: /invalid repository pattern/,
      },
      {
        args: ["access", "add", "user:bob", "team-a/**", "pull,fly"],
        message: /unknown or not allowed action.*fly/,
      },
      { args: ["access", "add", "group:x", "team-a/**", "pull"], message: /invalid subject/ },
      { args: ["access", "add", "user:Bad Name", "team-a/**", "pull"], message: /invalid name/ },
      { args: ["access", "add", "anonymous", "public/**", "pull,push"], message: /anonymous access.*push/ },
      { args: ["access", "add", "anonymous", "public/**", "delete"], message: /anonymous access/ },
      {
        args: ["token", "create", "--name", "BadName", "--repo", "team-a/**"],
        message: /invalid name/,
      },
      {
        args: ["token", "create", "--name", "ci2", "--repo", "team-a/../b"],
        message: /invalid repository pattern/,
      },
      {
        args: ["token", "create", "--name", "ci2", "--repo", "team-a/**", "--actions", "pull,admin"],
        message: /not allowed action.*admin/,
      },
      {
        args: ["token", "create", "--name", "ci2", "--repo", "team-a/**", "--expires", "0s"],
        message: /--expires/,
      },
      {
        args: ["token", "create", "--name", "ci2", "--repo", "team-a/**", "--expires", "yesterday"],
        message: /--expires/,
      },
      { args: ["token", "create", "--name", "bob", "--repo", "team-a/**"], message: /already taken/ },
    ];
    for (const c of cases) {
      const result = await admin.run([...c.args, ...reg()], { input: c.input });
      assert.notEqual(result.code, 0, `${c.args.join(" ")}: ${show(result)}`);
      assert.match(result.stderr, c.message, c.args.join(" "));
    }

    // An expiry in the past, straight through the API (the CLI only takes durations).
    const res = await fetch(`${server.url}/api/v1/tokens`, {
      method: "POST",
      headers: { authorization: basic("admin", ADMIN_PASSWORD), "content-type": "application/json" },
      body: JSON.stringify({
        name: "past",
        repositories: ["team-a/**"],
        actions: ["pull"],
        expiresAt: "2000-01-01T00:00:00Z",
      }),
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as ErrorBody).errors[0]?.message ?? "", /in the future/);

    // Nothing invalid was created.
    const rules = json<unknown[]>(await admin.run(["access", ...reg(), "--json"]));
    assert.deepEqual(rules, []);
    const tokens = json<{ name: string }[]>(await admin.run(["token", "ls", ...reg(), "--json"]));
    assert.deepEqual(
      tokens.map((t) => t.name),
      ["ci"],
    );
  });

  test("wharf audit --json lists pushes, tag deletes, logins, token and access changes", async () => {
    ok(await admin.run(["rm", `${server.host}/team-a/x:v2`]));
    const events = json<AuditEvent[]>(await admin.run(["audit", ...reg(), "--json", "-n", "1000"]));
    const find = (pred: (e: AuditEvent) => boolean, what: string) => {
      const event = events.find(pred);
      assert.ok(event, `no audit event for ${what} in ${JSON.stringify(events, null, 1)}`);
      assert.match(event.client, /127\.0\.0\.1/, what);
      return event;
    };
    find((e) => e.action === "manifest.push" && e.actor === "ci" && e.repository === "team-a/x", "ci push");
    find(
      (e) => e.action === "manifest.push" && e.actor === "bob" && e.repository === "team-a/bob",
      "bob push",
    );
    find(
      (e) =>
        e.action === "tag.delete" && e.actor === "admin" && e.repository === "team-a/x" && e.target === "v2",
      "tag delete",
    );
    find((e) => e.action === "login" && e.actor === "admin" && e.outcome === "ok", "admin login");
    find((e) => e.action === "login" && e.actor === "admin" && e.outcome === "failed", "failed admin login");
    find((e) => e.action === "login" && e.actor === "bob" && e.outcome === "failed", "bob's old password");
    find((e) => e.action === "login" && e.actor === "ci" && e.outcome === "ok", "robot login");
    find((e) => e.action === "token.create" && e.actor === "admin" && e.target === "ci", "token create");
    find((e) => e.action === "token.revoke" && e.actor === "admin" && e.target === "ci", "token revoke");
    find((e) => e.action === "access.add" && e.actor === "admin" && e.target === ruleId, "access add");
    find((e) => e.action === "access.remove" && e.actor === "admin" && e.target === ruleId, "access rm");
    find((e) => e.action === "user.add" && e.actor === "admin" && e.target === "bob", "user add");
    find((e) => e.action === "user.password" && e.actor === "bob" && e.target === "bob", "passwd");
    // Newest first.
    const seqs = events.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
    );
    // No event carries a secret.
    const text = JSON.stringify(events);
    for (const secret of [ADMIN_PASSWORD, BOB_PASSWORD, BOB_NEW_PASSWORD, robotSecret]) {
      assert.ok(!text.includes(secret), "a secret is in the audit log");
    }
  });

  test("wharf audit filters by --actor, --action (and prefix) and --repo", async () => {
    const byActor = json<AuditEvent[]>(await admin.run(["audit", ...reg(), "--json", "--actor", "ci"]));
    assert.ok(byActor.length >= 2);
    assert.ok(byActor.every((e) => e.actor === "ci"));
    assert.ok(byActor.some((e) => e.action === "manifest.push"));

    const tokenEvents = json<AuditEvent[]>(
      await admin.run(["audit", ...reg(), "--json", "--action", "token."]),
    );
    assert.deepEqual(tokenEvents.map((e) => e.action).sort(), ["token.create", "token.revoke"]);

    const logins = json<AuditEvent[]>(await admin.run(["audit", ...reg(), "--json", "--action", "login"]));
    assert.ok(logins.length >= 3);
    assert.ok(logins.every((e) => e.action === "login"));
    assert.ok(logins.some((e) => e.outcome === "failed"));

    const exact = json<AuditEvent[]>(await admin.run(["audit", ...reg(), "--json", "--action", "token"]));
    assert.deepEqual(exact, [], "without the dot, --action matches exactly");
    // A prefix matches as exactly as a whole name does: case-sensitively, on every database.
    const shouted = json<AuditEvent[]>(await admin.run(["audit", ...reg(), "--json", "--action", "TOKEN."]));
    assert.deepEqual(shouted, [], "--action prefixes are case-sensitive");

    const byRepo = json<AuditEvent[]>(await admin.run(["audit", ...reg(), "--json", "--repo", "team-a/x"]));
    assert.ok(byRepo.length >= 2);
    assert.ok(byRepo.every((e) => e.repository === "team-a/x"));
    assert.ok(byRepo.some((e) => e.action === "tag.delete"));

    const combined = json<AuditEvent[]>(
      await admin.run(["audit", ...reg(), "--json", "--actor", "bob", "--action", "manifest.push"]),
    );
    assert.ok(combined.length >= 1);
    assert.ok(combined.every((e) => e.actor === "bob" && e.action === "manifest.push"));

    const limited = json<AuditEvent[]>(await admin.run(["audit", ...reg(), "--json", "-n", "2"]));
    assert.equal(limited.length, 2);
    const table = ok(await admin.run(["audit", ...reg(), "--action", "token."]));
    assert.match(table.stdout, /admin\s+127\.0\.0\.1\s+token\.revoke\s+ci/);
  });

  test("passwords, robot secrets and issued tokens never appear in the server log", async () => {
    const log = server.output();
    assert.match(log, /"msg":"request"/, "the log must record requests at this level");
    for (const secret of [ADMIN_PASSWORD, BOB_PASSWORD, BOB_NEW_PASSWORD, robotSecret, ...issuedTokens]) {
      assert.ok(secret.length > 0);
      assert.ok(!log.includes(secret), `the server log holds a secret: ${secret.slice(0, 12)}…`);
    }
  });
});

describe("abuse resistance", { timeout: 600_000 }, () => {
  let locking: TestServer;
  let plain: TestServer;
  let home: CliHome;
  const dirs: string[] = [];
  const issued: string[] = [];
  const CAROL_PASSWORD = "carol-Password-1";

  async function passwordGrant(
    server: TestServer,
    username: string,
    password: string,
  ): Promise<{ status: number; text: string; ms: number }> {
    const start = performance.now();
    const res = await fetch(`${server.url}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "password",
        username,
        password,
        service: "wharf",
        scope: "repository:team/x:pull",
        access_type: "offline",
      }).toString(),
    });
    const text = await res.text();
    const ms = performance.now() - start;
    if (res.status === 200) {
      const body = JSON.parse(text) as { access_token: string; refresh_token?: string };
      issued.push(body.access_token);
      if (body.refresh_token) issued.push(body.refresh_token);
    }
    return { status: res.status, text, ms };
  }

  async function basicGet(
    server: TestServer,
    path: string,
    username: string,
    password: string,
  ): Promise<{ status: number; text: string; challenge: string | null }> {
    const res = await fetch(`${server.url}${path}`, {
      headers: { authorization: basic(username, password) },
    });
    return { status: res.status, text: await res.text(), challenge: res.headers.get("www-authenticate") };
  }

  before(async () => {
    home = await cliHome();
    const [a, b] = await Promise.all([
      mkdtemp(join(tmpdir(), "wharf-lock-")),
      mkdtemp(join(tmpdir(), "wharf-enum-")),
    ]);
    dirs.push(a, b);
    await Promise.all([
      bootstrap(home, a, "admin", ADMIN_PASSWORD),
      bootstrap(home, b, "admin", ADMIN_PASSWORD),
    ]);
    [locking, plain] = await Promise.all([
      startWharf({ dataDir: a, env: { WHARF_MAX_FAILED_LOGINS: "3", WHARF_LOG_LEVEL: "debug" } }),
      startWharf({ dataDir: b, env: { WHARF_LOG_LEVEL: "debug" } }),
    ]);
    for (const server of [locking, plain]) {
      const res = await fetch(`${server.url}/api/v1/users`, {
        method: "POST",
        headers: { authorization: basic("admin", ADMIN_PASSWORD), "content-type": "application/json" },
        body: JSON.stringify({ name: "carol", password: CAROL_PASSWORD }),
      });
      assert.equal(res.status, 201);
      await res.arrayBuffer();
    }
  });
  after(async () => {
    await Promise.all([locking?.stop(), plain?.stop()]);
    await home?.cleanup();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  test("after WHARF_MAX_FAILED_LOGINS failures a user is locked out, even with the right password", async () => {
    assert.equal((await passwordGrant(locking, "carol", CAROL_PASSWORD)).status, 200);
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await passwordGrant(locking, "carol", `wrong-${i}-password`)).status,
        401,
        `attempt ${i + 1}`,
      );
    }
    const locked = await passwordGrant(locking, "carol", CAROL_PASSWORD);
    assert.equal(locked.status, 429);
    assert.equal((JSON.parse(locked.text) as ErrorBody).errors[0]?.code, "TOOMANYREQUESTS");
    // Basic credentials, on /v2/ and the admin API, meet the same lock.
    assert.equal((await basicGet(locking, "/v2/", "carol", CAROL_PASSWORD)).status, 429);
    assert.equal((await basicGet(locking, "/api/v1/whoami", "carol", CAROL_PASSWORD)).status, 429);
    const cli = await home.run(["login", locking.host, "-u", "carol", "--password-stdin"], {
      input: CAROL_PASSWORD,
    });
    assert.notEqual(cli.code, 0, show(cli));
    // Other accounts from the same address are not locked out by one user's failures.
    assert.equal((await passwordGrant(locking, "admin", ADMIN_PASSWORD)).status, 200);
  });

  test("unknown user names are locked out the same way (no enumeration through the lockout)", async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await passwordGrant(locking, "nobody-here", `guess-${i}-password`)).status, 401);
    }
    const locked = await passwordGrant(locking, "nobody-here", "guess-9-password");
    assert.equal(locked.status, 429);
    assert.equal((JSON.parse(locked.text) as ErrorBody).errors[0]?.code, "TOOMANYREQUESTS");
    const carol = await passwordGrant(locking, "carol", "another-wrong-1");
    assert.equal(carol.status, locked.status);
    // Alike but for when each lockout ends (which depends on when the failures were, not on the name).
    const withoutTimes = (text: string) => text.replace(/\d+/g, "N");
    assert.equal(
      withoutTimes(carol.text),
      withoutTimes(locked.text),
      "a locked real user and a locked unknown name answer alike",
    );
  });

  test("unknown user and wrong password answer identically at the token endpoint and on /v2/", async () => {
    const unknownPost = await passwordGrant(plain, "ghost", "some-password-1");
    const wrongPost = await passwordGrant(plain, "carol", "some-password-1");
    assert.equal(unknownPost.status, 401);
    assert.equal(wrongPost.status, unknownPost.status);
    assert.equal(wrongPost.text, unknownPost.text);

    const path = "/auth/token?service=wharf&scope=repository:team/x:pull";
    const unknownGet = await basicGet(plain, path, "ghost", "some-password-2");
    const wrongGet = await basicGet(plain, path, "carol", "some-password-2");
    assert.equal(unknownGet.status, 401);
    assert.deepEqual(wrongGet, unknownGet);

    const unknownV2 = await basicGet(plain, "/v2/", "ghost", "some-password-3");
    const wrongV2 = await basicGet(plain, "/v2/", "carol", "some-password-3");
    assert.equal(unknownV2.status, 401);
    assert.match(unknownV2.challenge ?? "", /^Bearer realm=/);
    assert.deepEqual(wrongV2, unknownV2);

    const unknownRepo = await basicGet(plain, "/v2/team/x/tags/list", "ghost", "some-password-4");
    const wrongRepo = await basicGet(plain, "/v2/team/x/tags/list", "carol", "some-password-4");
    assert.equal(unknownRepo.status, 401);
    assert.deepEqual(wrongRepo, unknownRepo);

    // Keep carol's failure count low for the timing test.
    assert.equal((await passwordGrant(plain, "carol", CAROL_PASSWORD)).status, 200);
  });

  test("unknown users take comparable time to wrong passwords (both run a password hash)", async () => {
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
    // Warm up both paths (the dummy hash is made on first use).
    await passwordGrant(plain, "warm-up-name", "warm-up-password");
    const unknown: number[] = [];
    const wrong: number[] = [];
    for (let i = 0; i < 5; i++) {
      const u = await passwordGrant(plain, `ghost-${i}`, `timing-password-${i}`);
      const w = await passwordGrant(plain, "carol", `timing-password-${i}`);
      assert.equal(u.status, 401);
      assert.equal(w.status, 401);
      unknown.push(u.ms);
      wrong.push(w.ms);
    }
    const ratio = median(unknown) / median(wrong);
    assert.ok(
      ratio >= 0.3,
      `unknown-user median ${median(unknown).toFixed(1)} ms vs wrong-password ${median(wrong).toFixed(1)} ms`,
    );
    assert.equal((await passwordGrant(plain, "carol", CAROL_PASSWORD)).status, 200);
  });

  test("credentials and tokens never appear in the server log", () => {
    assert.ok(issued.length >= 4, "tokens were issued");
    for (const server of [locking, plain]) {
      const log = server.output();
      assert.match(log, /"msg":"request"/);
      for (const secret of [ADMIN_PASSWORD, CAROL_PASSWORD, ...issued]) {
        assert.ok(!log.includes(secret), `the server log holds a secret: ${secret.slice(0, 12)}…`);
      }
      assert.ok(!/wrong-\d-password|guess-\d-password|some-password-\d|timing-password-\d/.test(log));
    }
  });
});
