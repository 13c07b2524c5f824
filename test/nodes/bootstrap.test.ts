/**
 * The first administrator of a registry on PostgreSQL: `wharf user add --server-config FILE` writes it
 * into the database the configuration names, before any node runs, and every node then requires it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { backendEnv } from "../helpers/backends.js";
import { startWharf } from "../helpers/server.js";
import { runWharf } from "../client/cli.js";

test("wharf user add --server-config bootstraps an admin on PostgreSQL; nodes then require it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wharf-bootstrap-"));
  const backend = await backendEnv("postgres");
  const configFile = join(dir, "wharf.yaml");
  await writeFile(
    configFile,
    stringify({
      metadata: { driver: "postgres", url: backend.WHARF_METADATA_URL },
      dataDir: join(dir, "data"),
    }),
  );
  const env = { ...process.env, HOME: dir } as Record<string, string>;
  try {
    const added = await runWharf(
      ["user", "add", "root-admin", "--admin", "--password-stdin", "--server-config", configFile],
      env,
      "correct horse battery",
    );
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stderr + added.stdout, /Added administrator root-admin/);
    const both = await runWharf(
      ["user", "add", "x", "--password-stdin", "--server-config", configFile, "--data-dir", dir],
      env,
      "whatever password",
    );
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /--data-dir or --server-config, not both/);

    const node = await startWharf({ backend, env: { WHARF_AUTH_ENABLED: "false" } });
    try {
      const anonymous = await fetch(`${node.url}/v2/`);
      assert.equal(anonymous.status, 401, "a user exists: authentication is on");
      const basic = Buffer.from("root-admin:correct horse battery").toString("base64");
      const res = await fetch(`${node.url}/api/v1/users`, { headers: { Authorization: `Basic ${basic}` } });
      assert.equal(res.status, 200, await res.text());
    } finally {
      await node.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an unreachable or refusing PostgreSQL stops start-up with where and why, never the password", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wharf-pg-down-"));
  try {
    for (const url of [
      "postgres://wharf:s3cret-pw@127.0.0.1:1/wharf",
      "postgres://nobody:s3cret-pw@127.0.0.1:55432/none",
    ]) {
      const result = await runWharf(
        ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--workers", "1"],
        {
          ...process.env,
          WHARF_METADATA_DRIVER: "postgres",
          WHARF_METADATA_URL: url,
        } as Record<string, string>,
      );
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /cannot use PostgreSQL at 127\.0\.0\.1:(1\/wharf|55432\/none) \(metadata\.url\)/,
      );
      assert.doesNotMatch(result.stderr + result.stdout, /s3cret-pw/);
      assert.doesNotMatch(result.stderr, /\bat .*\.js:\d+/, "no stack trace");
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
