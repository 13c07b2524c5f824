import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import { ADMIN, requestToken, startAuthServer, type AuthServer } from "../auth/support.js";
import { cliHome, type CliHome } from "./cli.js";
import { pushArtifact } from "./fixtures.js";
import { Client } from "../../src/client/index.js";
import { startWharf, type TestServer } from "../helpers/server.js";

/** Control characters a hostile name or message may carry: ESC sequences, a C1 CSI, DEL, CR, BEL. */
const HOSTILE = "\x1b[2J\x1b]0;pwned\x07evil\u009b31m\x7f\rok";
// eslint-disable-next-line no-control-regex -- finding control characters is what this checks
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
/** Invisible controls that reorder or break a line: ALM, LRM, RLM, LS, PS, LRE..RLO, LRI..PDI. */
const BIDI = "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069";
const RAW_BIDI = /[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe("CLI output escapes control characters that came from the network", () => {
  let auth: AuthServer;
  let open: TestServer;
  let cli: CliHome;
  let client: Client;
  before(async () => {
    auth = await startAuthServer();
    open = await startWharf();
    cli = await cliHome();
    client = new Client();
  });
  after(async () => {
    client.close();
    await auth.stop();
    await open.stop();
    await cli.cleanup();
  });

  /** A failed login under `name`, then `wharf audit` as a table (escaped) and as JSON (exact). */
  async function auditShowsEscaped(name: string, raw: RegExp, escaped: string): Promise<void> {
    const host = new URL(auth.url).host;
    const failed = await requestToken(auth.url, [], { name, password: "guess" });
    await failed.arrayBuffer();
    assert.equal(failed.status, 401);
    const login = await cli.run(["login", host, "-u", ADMIN.name, "--password-stdin"], {
      input: ADMIN.password,
    });
    assert.equal(login.code, 0, login.stderr);

    const audit = await cli.run(["audit", "--registry", host, "--action", "login"]);
    assert.equal(audit.code, 0, audit.stderr);
    assert.doesNotMatch(audit.stdout, raw, "no raw control character reaches the terminal");
    assert.ok(audit.stdout.includes(escaped), audit.stdout);

    const json = await cli.run(["audit", "--registry", host, "--action", "login", "--json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stdout, raw);
    const events = JSON.parse(json.stdout) as { actor: string }[];
    assert.ok(
      events.some((e) => e.actor === name),
      "JSON keeps the exact value",
    );
  }

  test("wharf audit shows a hostile user name of a failed login escaped, in tables and in JSON", async () => {
    await auditShowsEscaped(HOSTILE, RAW_CONTROL, "\\x1b[2J\\x1b]0;pwned\\x07evil\\u009b31m\\x7f\\rok");
  });

  test("wharf audit escapes bidirectional and line-separator controls too", async () => {
    await auditShowsEscaped(`admin${BIDI}x`, RAW_BIDI, "admin\\u061c\\u200e\\u200f\\u2028");
  });

  test("annotations in info and a server's error message are escaped", async () => {
    await pushArtifact(client.registry(open.host), "team/notes", "v1", [Buffer.from("x")], {
      annotations: { "org.example.note": `line one\n${HOSTILE}` },
    });
    const info = await cli.run(["info", `${open.host}/team/notes:v1`, "--no-referrers"]);
    assert.equal(info.code, 0, info.stderr);
    assert.doesNotMatch(info.stdout, RAW_CONTROL);
    assert.match(
      info.stdout,
      /org\.example\.note:\s+line one\\n\\x1b\[2J/,
      "a newline in a value is not a line",
    );

    // A server whose error message carries escape sequences.
    const hostile: Server = createServer((req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "DENIED", message: HOSTILE }] }));
    });
    hostile.listen(0, "127.0.0.1");
    await once(hostile, "listening");
    try {
      const address = hostile.address();
      const port = typeof address === "object" && address ? address.port : 0;
      const result = await cli.run(["tags", `127.0.0.1:${port}/team/notes`]);
      assert.notEqual(result.code, 0);
      assert.doesNotMatch(result.stderr, RAW_CONTROL, result.stderr);
      assert.ok(result.stderr.includes("\\x1b[2J"), result.stderr);
    } finally {
      hostile.close();
    }
  });
});
