/**
 * `wharf gc` end to end: through the admin API of a running server (text and --json), and with
 * --data-dir beside a running quick-start server (no accounts), whose sweep the lease keeps it from
 * overlapping.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cliHome, type CliHome, type CliResult } from "./cli.js";
import { ADMIN, startAuthServer, type AuthServer } from "../auth/support.js";
import { backendOf, queryMetadata } from "../helpers/backends.js";
import { startWharf, type TestServer } from "../helpers/server.js";
import { manifestStatus, pushImage, type GcRun } from "../spec/gc-support.js";
import { pushImage as pushOpenImage } from "../spec/manifest-support.js";

const GC_ENV = { WHARF_GC_GRACE: "0", WHARF_GC_UNTAGGED: "true" };

let home: CliHome;

function show(result: CliResult): string {
  return `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
}

before(async () => {
  home = await cliHome();
});

after(async () => {
  await home?.cleanup();
});

describe("wharf gc through the admin API", () => {
  let server: AuthServer;

  before(async () => {
    server = await startAuthServer(GC_ENV);
    const login = await home.run(["login", server.server.host, "-u", ADMIN.name, "--password-stdin"], {
      input: ADMIN.password,
    });
    assert.equal(login.code, 0, show(login));
  });

  after(async () => {
    await server?.stop();
  });

  test("--dry-run lists what would go and removes nothing; a run removes it; --json is the report", async () => {
    const repo = "gccli/app";
    const kept = await pushImage(server.url, repo, { tag: "latest" });
    const untagged = await pushImage(server.url, repo);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const dry = await home.run(["gc", "--dry-run", "--registry", server.server.host]);
    assert.equal(dry.code, 0, show(dry));
    assert.match(dry.stdout, /KIND\s+REPOSITORY\s+DIGEST\s+BYTES\s+REASON/);
    assert.match(dry.stdout, new RegExp(`manifest\\s+${repo}\\s+${untagged.digest}\\s+0\\s+untagged`));
    assert.match(dry.stdout, /Dry run: would remove \d+ items .*; would reclaim \d+ bytes \(/);
    assert.doesNotMatch(dry.stderr, /\r/, "no progress when piped");
    assert.equal(await manifestStatus(server.url, repo, untagged.digest), 200);

    const real = await home.run(["gc", "--json", "--registry", server.server.host]);
    assert.equal(real.code, 0, show(real));
    const report = JSON.parse(real.stdout) as GcRun;
    assert.equal(report.status, "done");
    assert.equal(report.dryRun, false);
    assert.ok(
      report.items.some((i) => i.kind === "manifest" && i.digest === untagged.digest),
      real.stdout,
    );
    assert.ok(!report.items.some((i) => i.digest === kept.digest));
    assert.equal(await manifestStatus(server.url, repo, untagged.digest), 404);
    assert.equal(await manifestStatus(server.url, repo, kept.digest), 200);

    const text = await home.run(["gc", "--registry", server.server.host]);
    assert.equal(text.code, 0, show(text));
    assert.match(text.stdout, /^removed \d+ items \(manifests 0[,)].*; reclaimed \d+ bytes \(.*\)$/m);
  });
});

describe("wharf gc --grace", () => {
  let server: AuthServer;

  before(async () => {
    // The registry's own window is an hour: only a run's --grace collects what was just deleted.
    server = await startAuthServer({ WHARF_GC_GRACE: "1h", WHARF_GC_UNTAGGED: "true" });
    const login = await home.run(["login", server.server.host, "-u", ADMIN.name, "--password-stdin"], {
      input: ADMIN.password,
    });
    assert.equal(login.code, 0, show(login));
  });

  after(async () => {
    await server?.stop();
  });

  test("a run's own window replaces gc.grace for that run; a bad one is a usage error", async () => {
    const repo = "gcgrace/app";
    const untagged = await pushImage(server.url, repo);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const within = await home.run(["gc", "--json", "--registry", server.server.host]);
    assert.equal(within.code, 0, show(within));
    const kept = JSON.parse(within.stdout) as GcRun & { graceMs: number };
    assert.equal(kept.graceMs, 3600_000);
    assert.ok(!kept.items.some((i) => i.digest === untagged.digest), "younger than gc.grace: kept");
    assert.equal(await manifestStatus(server.url, repo, untagged.digest), 200);

    // Shorter than min(gc.grace, 1m): refused, saying why (a push in progress needs its blobs that long).
    const short = await home.run(["gc", "--grace", "0s", "--registry", server.server.host]);
    assert.equal(short.code, 2, show(short));
    assert.match(short.stderr, /at least 60s .*a push in progress needs the blobs/);
    assert.equal(await manifestStatus(server.url, repo, untagged.digest), 200);

    // Two minutes on (backdated: nothing pulled or touched it since), a one-minute window collects it.
    const old = new Date(Date.now() - 120_000).toISOString();
    await queryMetadata(server.dataDir, "UPDATE manifests SET created_at = ? WHERE repository = ?", [
      old,
      repo,
    ]);
    await queryMetadata(server.dataDir, "UPDATE repository_blobs SET touched_at = ? WHERE repository = ?", [
      old,
      repo,
    ]);
    await queryMetadata(server.dataDir, "UPDATE blobs SET touched_at = ? WHERE digest IN (?, ?)", [
      old,
      untagged.layer.digest,
      untagged.config.digest,
    ]);
    const now = await home.run(["gc", "--grace", "1m", "--json", "--registry", server.server.host]);
    assert.equal(now.code, 0, show(now));
    const report = JSON.parse(now.stdout) as GcRun & { graceMs: number };
    assert.equal(report.graceMs, 60_000);
    assert.ok(
      report.items.some((i) => i.kind === "manifest" && i.digest === untagged.digest),
      now.stdout,
    );
    assert.ok(
      report.items.some((i) => i.kind === "blob" && i.digest === untagged.layer.digest),
      now.stdout,
    );
    assert.equal(await manifestStatus(server.url, repo, untagged.digest), 404);

    const bad = await home.run(["gc", "--grace", "soon", "--registry", server.server.host]);
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /--grace must be a duration such as 1m/);
  });
});

describe("wharf gc --data-dir beside a quick-start server", () => {
  let server: TestServer;

  before(async () => {
    server = await startWharf();
  });

  after(async () => {
    await server?.stop();
  });

  test("runs the collector on its database and store; refuses while another sweep holds the lease", async () => {
    const repo = "gclocal/app";
    const untagged = await pushOpenImage(server.url, repo);
    const tagged = await pushOpenImage(server.url, repo, "latest");
    const env = { ...(await backendOf(server.dataDir)), ...GC_ENV };

    const run = await home.run(["gc", "--data-dir", server.dataDir, "--json"], { env });
    assert.equal(run.code, 0, show(run));
    const report = JSON.parse(run.stdout) as GcRun;
    assert.equal(report.actor, "local");
    assert.ok(
      report.items.some((i) => i.digest === untagged.digest),
      run.stdout,
    );
    assert.equal((await fetch(`${server.url}/v2/${repo}/manifests/${untagged.digest}`)).status, 404);
    assert.equal((await fetch(`${server.url}/v2/${repo}/manifests/${tagged.digest}`)).status, 200);

    const until = new Date(Date.now() + 60_000).toISOString();
    await queryMetadata(
      server.dataDir,
      "INSERT INTO leases (name, holder, until) VALUES ('gc', 'other', ?)",
      [until],
    );
    try {
      const busy = await home.run(["gc", "--data-dir", server.dataDir], { env });
      assert.notEqual(busy.code, 0, show(busy));
      assert.match(busy.stderr, /garbage collection is running already/);
    } finally {
      await queryMetadata(server.dataDir, "DELETE FROM leases WHERE name = 'gc'");
    }
  });

  test("refuses a database with a migration pending (an older server runs on it), migrating nothing", async () => {
    const env = { ...(await backendOf(server.dataDir)), ...GC_ENV };
    const applied = async () =>
      (
        await queryMetadata<{ name: string }>(
          server.dataDir,
          "SELECT name FROM kysely_migration WHERE name = ?",
          ["0012_manifest_touch"],
        )
      ).length;
    // The schema an older server left: without 0012_manifest_touch.
    await queryMetadata(server.dataDir, "ALTER TABLE manifests DROP COLUMN touched_at");
    await queryMetadata(server.dataDir, "DELETE FROM kysely_migration WHERE name = ?", [
      "0012_manifest_touch",
    ]);
    try {
      const run = await home.run(["gc", "--data-dir", server.dataDir], { env });
      assert.notEqual(run.code, 0, show(run));
      assert.match(run.stderr, /pending: 0012_manifest_touch.*Upgrade the server first/s);
      assert.equal(await applied(), 0, "wharf gc migrated the database under the server");
    } finally {
      if ((await applied()) === 0) {
        await queryMetadata(server.dataDir, "ALTER TABLE manifests ADD COLUMN touched_at varchar(32)");
        await queryMetadata(server.dataDir, "INSERT INTO kysely_migration (name, timestamp) VALUES (?, ?)", [
          "0012_manifest_touch",
          new Date().toISOString(),
        ]);
      }
    }
  });
});
