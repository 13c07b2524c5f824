import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { ADMIN, createRobot, createUser, startAuthServer, type AuthServer } from "../auth/support.js";
import { cliHome, type CliHome, type CliResult } from "./cli.js";

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

/** A loopback HTTP server answering with `handle`; counts requests per path. */
async function fakeServer(handle: (req: IncomingMessage, res: ServerResponse, host: string) => void) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${(req.url ?? "").split("?")[0]}`);
    handle(req, res, host);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const host = `127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return {
    host,
    hits,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

describe("errors that say what happened and what to do", () => {
  let auth: AuthServer;
  let host: string;
  let cli: CliHome;
  let file: string;
  before(async () => {
    auth = await startAuthServer();
    host = new URL(auth.url).host;
    cli = await cliHome();
    file = join(cli.dir, "notes.txt");
    await writeFile(file, "notes\n");
  });
  after(async () => {
    await auth.stop();
    await cli.cleanup();
  });

  test("push without stored credentials: not logged in, naming the push and how to log in", async () => {
    const result = await cli.run(["push", `${host}/team/app:v1`, file]);
    assert.equal(result.code, 4, show(result));
    assert.ok(
      result.stderr.includes(
        `not logged in to ${host} (push to team/app needs credentials): run \`wharf login ${host}\``,
      ),
      show(result),
    );
    assert.doesNotMatch(result.stderr, /:pull\b|lacks permission/);
  });

  test("wharf ls HOST without credentials says the list needs a login, and fails", async () => {
    const result = await cli.run(["ls", host]);
    assert.equal(result.code, 4, show(result));
    assert.match(
      result.stderr,
      new RegExp(`the catalog \\(repository list\\) of ${host} needs a login: run \`wharf login`),
    );
    assert.equal(result.stdout, "");
  });

  test("a server that is not a registry is named as such", async () => {
    const web = await fakeServer((req, res) =>
      res.writeHead(404, { "content-type": "text/html" }).end("<h1>404</h1>"),
    );
    try {
      for (const args of [
        ["info", `${web.host}/team/app:v1`],
        ["tags", `${web.host}/team/app`],
        ["login", web.host, "-u", "a", "--password-stdin"],
      ]) {
        const result = await cli.run(args, { input: "secret" });
        assert.notEqual(result.code, 0, show(result));
        assert.match(
          result.stderr,
          new RegExp(`${web.host} is not an OCI registry \\(GET /v2/ answered 404\\)`),
          show(result),
        );
      }
    } finally {
      await web.close();
    }
  });

  describe("as an administrator", () => {
    before(async () => {
      const login = await cli.run(["login", host, "-u", ADMIN.name, "--password-stdin"], {
        input: ADMIN.password,
      });
      assert.equal(login.code, 0, show(login));
    });

    test("bad input exits 2 wherever it is found, with the server's message", async () => {
      const registry = ["--registry", host];
      const weak = await cli.run(["user", "add", "weakling", "--password-stdin", ...registry], {
        input: "x",
      });
      assert.equal(weak.code, 2, show(weak));
      assert.match(weak.stderr, /password/i);

      const badName = await cli.run(["user", "add", "Not A Name", "--password-stdin", ...registry], {
        input: "a-Strong-password-123",
      });
      assert.equal(badName.code, 2, show(badName));

      const noRepo = await cli.run(["token", "create", "--name", "ci", ...registry]);
      assert.equal(noRepo.code, 2, show(noRepo));
      assert.match(noRepo.stderr, /--repo/);

      const badActions = await cli.run([
        "token",
        "create",
        "--name",
        "ci",
        "--repo",
        "team/**",
        "--actions",
        "fly",
        ...registry,
      ]);
      assert.equal(badActions.code, 2, show(badActions));
      assert.match(badActions.stderr, /fly/);

      const badRule = await cli.run(["access", "add", "user:admin", "team/**", "fly", ...registry]);
      assert.equal(badRule.code, 2, show(badRule));
    });

    test("access add for an account that does not exist fails with the server's message", async () => {
      const result = await cli.run(["access", "add", "user:nobody", "team/**", "pull", "--registry", host]);
      assert.notEqual(result.code, 0, show(result));
      assert.match(result.stderr, /nobody/, show(result));
      const rules = await cli.run(["access", "--registry", host, "--json"]);
      assert.equal(rules.code, 0, show(rules));
      assert.ok(!rules.stdout.includes("user:nobody"), "no rule was stored");
    });

    test("a robot on the admin API sees the server's 403 message", async () => {
      const robot = await createRobot(auth.url, "ci-bot", ["team/**"], ["pull"]);
      const robotCli = await cliHome();
      try {
        const login = await robotCli.run(["login", host, "-u", robot.name, "--password-stdin"], {
          input: robot.password,
        });
        assert.equal(login.code, 0, show(login));
        const result = await robotCli.run(["user", "ls", "--registry", host]);
        assert.equal(result.code, 4, show(result));
        assert.match(result.stderr, /robots cannot use the admin API/, show(result));
      } finally {
        await robotCli.cleanup();
      }
    });
  });
});

describe("login lockouts: the server's message and when to retry, without silent retries", () => {
  test("a token service answering 429 is asked once, and its message and Retry-After are shown", async () => {
    const cli = await cliHome();
    const registry = await fakeServer((req, res, host) => {
      if (req.url?.startsWith("/token")) {
        res.writeHead(429, { "content-type": "application/json", "retry-after": "300" });
        res.end(
          JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "account locked for a while" }] }),
        );
        return;
      }
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": `Bearer realm="http://${host}/token",service="fake"`,
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    });
    try {
      const result = await cli.run(["login", registry.host, "-u", "alice", "--password-stdin"], {
        input: "guess",
        env: { WHARF_RETRIES: "3" },
      });
      assert.equal(result.code, 4, show(result));
      assert.match(result.stderr, /account locked for a while; try again in 5 min/, show(result));
      assert.equal(
        registry.hits.filter((h) => h.startsWith("GET /token")).length,
        1,
        registry.hits.join("\n"),
      );
    } finally {
      await registry.close();
      await cli.cleanup();
    }
  });

  test("against wharf: after the lockout, the server's message and when to retry", async () => {
    const server = await startAuthServer({ WHARF_MAX_FAILED_LOGINS: "2" });
    const cli = await cliHome();
    try {
      const host = new URL(server.url).host;
      await createUser(server.url, "carol", "carol-Password-123");
      const guess = () => cli.run(["login", host, "-u", "carol", "--password-stdin"], { input: "wrong" });
      for (let i = 0; i < 2; i++) assert.equal((await guess()).code, 4);
      const locked = await guess();
      assert.equal(locked.code, 4, show(locked));
      assert.match(locked.stderr, /too many failed logins/, show(locked));
      assert.match(locked.stderr, /(try again|retry) in \d+ (s|min)/, show(locked));
      assert.doesNotMatch(locked.stderr, /answered 429/);
    } finally {
      await server.stop();
      await cli.cleanup();
    }
  });
});
