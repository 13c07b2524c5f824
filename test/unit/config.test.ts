import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, loadServerConfig, parseDuration } from "../../src/cli/config.js";

const wharf = resolve(import.meta.dirname, "..", "..", "bin", "wharf");

async function configFile(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "wharf-config-")), "wharf.yaml");
  await writeFile(path, text);
  return path;
}

describe("server configuration", () => {
  it("takes flags over environment over file over defaults", async () => {
    const file = await configFile("listen: 127.0.0.1:6000\ndataDir: /srv/file\nlog:\n  level: debug\n");
    const config = await loadServerConfig({
      file,
      env: { WHARF_DATA_DIR: "/srv/env", WHARF_LOG_LEVEL: "warn" },
      flags: { logLevel: undefined, dataDir: "/srv/flag" },
    });
    assert.deepEqual(config.listen, { host: "127.0.0.1", port: 6000 });
    assert.equal(config.dataDir, "/srv/flag");
    assert.equal(config.logLevel, "warn");
    assert.equal(config.uploadTtlMs, 24 * 3600_000);
  });

  it("names the key of an invalid or unknown setting", async () => {
    await assert.rejects(
      loadServerConfig({ file: await configFile("uploads:\n  ttl: soon\n"), env: {}, flags: {} }),
      (err: unknown) => err instanceof ConfigError && err.key === "uploads.ttl",
    );
    await assert.rejects(
      loadServerConfig({ file: await configFile("listn: 1.2.3.4:5\n"), env: {}, flags: {} }),
      (err: unknown) => err instanceof ConfigError && err.key === "listn",
    );
    await assert.rejects(
      loadServerConfig({ env: { WHARF_LISTEN: "nohost" }, flags: {} }),
      (err: unknown) => err instanceof ConfigError && err.key === "WHARF_LISTEN",
    );
  });

  it("parses durations", () => {
    assert.equal(parseDuration("500ms", "k"), 500);
    assert.equal(parseDuration("30s", "k"), 30_000);
    assert.equal(parseDuration("2h", "k"), 7_200_000);
    assert.equal(parseDuration("1500", "k"), 1500);
    assert.throws(() => parseDuration("-1s", "k"), ConfigError);
  });

  it("makes `wharf serve` exit 2 with the key in the message", async () => {
    const file = await configFile("log:\n  level: loud\n");
    const result = spawnSync(process.execPath, [wharf, "serve", "--config", file], { encoding: "utf8" });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /log\.level/);
  });
});

describe("wharf --version", () => {
  it("prints the package version and exits 0", async () => {
    const { version } = JSON.parse(
      await readFile(resolve(import.meta.dirname, "..", "..", "package.json"), "utf8"),
    ) as { version: string };
    const result = spawnSync(process.execPath, [wharf, "--version"], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  });
});
