/**
 * Start-up as a new user meets it: a taken address is explained (not a stack trace), `serve --help`
 * lists every setting with its environment variable, and `--print-config` shows what would run.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { once } from "node:events";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
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

function flatten(value: unknown, prefix = "", into: string[] = []): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, into);
  } else into.push(prefix);
  return into;
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

  test("serve --help lists every setting with its file key and environment variable", async () => {
    const printed = await runWharf(["serve", "--print-config", "json"], env);
    assert.equal(printed.code, 0, printed.stderr);
    const keys = flatten(JSON.parse(printed.stdout));
    assert.ok(keys.length >= 14, keys.join(", "));
    const help = await runWharf(["serve", "--help"], env);
    assert.equal(help.code, 0, help.stderr);
    const lines = help.stdout.split("\n");
    for (const key of keys) {
      const line = lines.find((l) => l.trimStart().startsWith(`${key} `));
      assert.ok(line, `--help does not list ${key}:\n${help.stdout}`);
      assert.match(line, /\bWHARF_[A-Z0-9_]+\b/, `no environment variable for ${key}: ${line}`);
    }
    assert.match(help.stdout, /http\.idleTimeout\s+WHARF_IDLE_TIMEOUT\s+1m\b/);
    assert.match(help.stdout, /--print-config/);
    assert.doesNotMatch(help.stdout, /"1m"/, "defaults print unquoted");
  });

  test("--print-config prints the effective configuration (flags over env over file), secrets masked, and exits", async () => {
    const file = join(dir, "wharf.yaml");
    await writeFile(
      file,
      [
        "listen: 127.0.0.1:6000",
        "log:",
        "  level: warn",
        "http:",
        "  idleTimeout: 90s",
        "auth:",
        "  realm: https://proxyuser:hunter2@registry.example.com/auth/token",
        "",
      ].join("\n"),
    );
    const dataDir = join(dir, "never-created");
    const result = await runWharf(
      ["serve", "--config", file, "--listen", "127.0.0.1:7000", "--data-dir", dataDir, "--print-config"],
      { ...env, WHARF_LOG_LEVEL: "debug", WHARF_UPLOAD_TTL: "2h" },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /listening on/);
    assert.doesNotMatch(result.stdout, /hunter2/);
    const printed = parseYaml(result.stdout) as {
      listen: string;
      dataDir: string;
      log: { level: string };
      uploads: { ttl: string };
      http: { idleTimeout: string };
      auth: { realm: string; enabled: boolean };
    };
    assert.equal(printed.listen, "127.0.0.1:7000"); // flag over file
    assert.equal(printed.dataDir, dataDir);
    assert.equal(printed.log.level, "debug"); // environment over file
    assert.equal(printed.uploads.ttl, "2h");
    assert.equal(printed.http.idleTimeout, "90s"); // file over default
    assert.equal(printed.auth.enabled, false); // default
    assert.match(printed.auth.realm, /^https:\/\/\*+@registry\.example\.com\/auth\/token$/);
    await assert.rejects(stat(dataDir), "printing the configuration must not create the data directory");

    // The output is itself a valid configuration file that gives the same configuration.
    const again = join(dir, "printed.yaml");
    await writeFile(again, result.stdout.replace(/realm: .*/, "realm: null"));
    const reprinted = await runWharf(["serve", "--config", again, "--print-config", "json"], {
      ...process.env,
    } as Record<string, string>);
    assert.equal(reprinted.code, 0, reprinted.stderr);
    const json = JSON.parse(reprinted.stdout) as typeof printed;
    assert.equal(json.listen, "127.0.0.1:7000");
    assert.equal(json.http.idleTimeout, "90s");
    assert.equal(json.uploads.ttl, "2h");
    assert.equal(json.auth.realm, null, "an unset value prints as null and reads back as unset");

    const bad = await runWharf(["serve", "--print-config", "toml"], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /yaml, json/);
  });
});
