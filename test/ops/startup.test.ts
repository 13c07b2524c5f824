/**
 * Start-up as a new user meets it: a taken address is explained (not a stack trace).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runWharf } from "../client/cli.js";

const env = { ...process.env, WHARF_LOG_LEVEL: "info" } as Record<string, string>;

/** Lines of stderr, each of which must be a JSON object with a level name. */
function jsonLines(stderr: string): { level: string; msg: string }[] {
  return stderr
    .split("\n")
    .filter((l) => l !== "")
    .map((line) => {
      let parsed: { level?: unknown; msg?: unknown };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        assert.fail(`not a JSON line on stderr: ${line}`);
      }
      assert.equal(typeof parsed.level, "string", line);
      return parsed as { level: string; msg: string };
    });
}

describe("wharf serve start-up", { timeout: 120_000 }, () => {
  let dir: string;
  let squatter: Server;
  let port: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-ops-"));
    squatter = createServer().listen(0, "127.0.0.1");
    await once(squatter, "listening");
    port = (squatter.address() as { port: number }).port;
  });
  after(async () => {
    squatter?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("a taken address says which, how to choose another, exits non-zero, without a stack trace", async () => {
    const result = await runWharf(
      ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dir, "taken")],
      env,
    );
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stdout, /listening on/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    const fatal = jsonLines(result.stderr).find((l) => l.level === "fatal");
    assert.ok(fatal, result.stderr);
    assert.match(fatal.msg, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
    assert.match(fatal.msg, /--listen/);
    assert.match(fatal.msg, /WHARF_LISTEN/);
    assert.match(fatal.msg, /npm start -- --listen/);
  });
});
