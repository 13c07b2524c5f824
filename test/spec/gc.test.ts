/**
 * Garbage collection through the admin API, on this run's backend: a dry run lists exactly what the
 * real run then removes, the bytes reported equal what left the blob store, and what is still in use
 * (tagged, an index's child, a referrer of a stored subject) stays.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { adminCall, startAuthServer, type AuthServer } from "../auth/support.js";
import { queryMetadata } from "../helpers/backends.js";
import {
  itemKeys,
  manifestStatus,
  pushBlob,
  pushImage,
  pushIndex,
  putManifest,
  runGc,
  storeBytes,
  type GcRun,
} from "./gc-support.js";

let server: AuthServer;

before(async () => {
  // No grace window: everything pushed before a run is old enough for it.
  server = await startAuthServer({ WHARF_GC_GRACE: "0", WHARF_GC_UNTAGGED: "true" });
});

after(async () => {
  await server?.stop();
});

async function manifestText(url: string, repo: string, digest: string): Promise<string> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${digest}`, {
    headers: {
      Authorization: `Basic ${Buffer.from("admin:admin-password-1").toString("base64")}`,
      Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
    },
  });
  assert.equal(res.status, 200);
  return res.text();
}

const manifestKeys = (run: GcRun) =>
  run.items
    .filter((i) => i.kind === "manifest")
    .map((i) => `${i.repository} ${i.digest} ${i.reason}`)
    .sort();

describe("garbage collection", () => {
  test("a dry run lists exactly what the real run removes; the reclaimed bytes left the store; in-use manifests stay", async () => {
    const repo = "gc/app";
    const url = server.url;
    // Kept: a tagged image, an untagged child of a tagged index, a referrer of a stored subject.
    const tagged = await pushImage(url, repo, { tag: "latest" });
    const child = await pushImage(url, repo);
    const index = await pushIndex(url, repo, [child], "multi");
    const liveReferrer = await pushImage(url, repo, { subject: tagged });
    // Removed: an untagged image; an untagged subject and (in the cascade) its referrer; an untagged
    // index and (in the cascade) its child; a referrer whose subject was never stored.
    const untagged = await pushImage(url, repo);
    const subject = await pushImage(url, repo);
    const orphanedReferrer = await pushImage(url, repo, { subject });
    const orphanedChild = await pushImage(url, repo);
    const untaggedIndex = await pushIndex(url, repo, [orphanedChild]);
    const missing = { mediaType: tagged.mediaType, digest: `sha256:${"0".repeat(64)}`, size: 10 };
    const subjectless = await pushImage(url, repo, { subject: missing });
    // A deleted manifest whose blobs nothing references any more, and a blob nothing ever referenced.
    const deleted = await pushImage(url, repo, { tag: "gone", layerBytes: 4000 });
    const del = await fetch(`${url}/v2/${repo}/manifests/${deleted.digest}`, {
      method: "DELETE",
      headers: { Authorization: `Basic ${Buffer.from("admin:admin-password-1").toString("base64")}` },
    });
    assert.equal(del.status, 202);
    await pushBlob(url, repo, randomBytes(2500));
    await new Promise((resolve) => setTimeout(resolve, 5));

    const storedBefore = await storeBytes(server.dataDir);
    const dry = await runGc(url, true);
    assert.equal(dry.dryRun, true);
    assert.equal(await storeBytes(server.dataDir), storedBefore, "a dry run removes nothing");
    assert.equal(await manifestStatus(url, repo, untagged.digest), 200, "a dry run removes nothing");

    const real = await runGc(url, false);
    assert.deepEqual(itemKeys(real), itemKeys(dry), "the dry run listed what the real run removed");
    assert.equal(real.count, dry.count);
    assert.equal(real.bytes, dry.bytes);
    assert.deepEqual(
      manifestKeys(real),
      [
        `${repo} ${untagged.digest} untagged`,
        `${repo} ${subject.digest} untagged`,
        `${repo} ${orphanedReferrer.digest} subject gone`,
        `${repo} ${untaggedIndex.digest} untagged`,
        `${repo} ${orphanedChild.digest} untagged`,
        `${repo} ${subjectless.digest} subject gone`,
      ].sort(),
    );
    assert.equal(
      real.bytes,
      storedBefore - (await storeBytes(server.dataDir)),
      "reclaimed bytes left the store",
    );
    for (const gone of [untagged, subject, orphanedReferrer, untaggedIndex, orphanedChild, subjectless]) {
      assert.equal(await manifestStatus(url, repo, gone.digest), 404, `${gone.digest} was removed`);
    }
    for (const kept of [tagged, child, index, liveReferrer]) {
      assert.equal(await manifestStatus(url, repo, kept.digest), 200, `${kept.digest} is kept`);
    }
    // A second run finds nothing more of what the first removed.
    const again = await runGc(url, true);
    assert.equal(manifestKeys(again).length, 0);

    const audit = (await (await adminCall(url, "GET", "/audit?action=gc.run")).json()) as {
      events: { actor: string; target: string; detail: { dryRun: boolean; count: number; bytes: number } }[];
    };
    const recorded = audit.events.find((e) => e.target === real.id);
    assert.ok(recorded, JSON.stringify(audit));
    assert.equal(recorded.actor, "admin");
    assert.deepEqual([recorded.detail.dryRun, recorded.detail.count], [false, real.count]);
    assert.ok(audit.events.some((e) => e.target === dry.id && e.detail.dryRun === true));

    const runs = (await (await adminCall(url, "GET", "/gc")).json()) as { runs: GcRun[] };
    assert.deepEqual(
      runs.runs.slice(0, 3).map((r) => r.id),
      [again.id, real.id, dry.id],
    );
  });

  test("a dry run counts a link's references of any kind, as the real run does", async () => {
    const repo = "gc/kinds";
    const url = server.url;
    // The image's manifest bytes are also linked as a blob; a tagged index references that digest as a
    // manifest: the link is referenced in its repository (of kind manifest) and stays.
    const image = await pushImage(url, repo);
    await pushBlob(url, repo, Buffer.from(await manifestText(url, repo, image.digest)));
    await pushIndex(url, repo, [image], "kept");
    // Something the manifest phase plans to remove: the dry run then checks links against its plan.
    await pushImage(url, repo);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const dry = await runGc(url, true);
    assert.ok(
      !dry.items.some((i) => i.kind !== "manifest" && i.digest === image.digest),
      `a dry run would remove the index's child's link: ${JSON.stringify(dry.items)}`,
    );
    const real = await runGc(url, false);
    assert.deepEqual(itemKeys(real), itemKeys(dry), "the dry run listed what the real run removed");
  });

  test("a manifest PUT again (by digest, content already stored) is kept by the next run", async () => {
    const repo = "gc/repush";
    const url = server.url;
    const image = await pushImage(url, repo);
    // As if pushed two minutes ago, with its blobs: older than the run's one-minute window.
    const old = new Date(Date.now() - 120_000).toISOString();
    await queryMetadata(server.dataDir, "UPDATE manifests SET created_at = ? WHERE repository = ?", [
      old,
      repo,
    ]);
    await queryMetadata(server.dataDir, "UPDATE repository_blobs SET touched_at = ? WHERE repository = ?", [
      old,
      repo,
    ]);
    // Re-pushed by digest (as buildx re-PUTs an index's untagged children): a 201 for stored content.
    // The same document pushImage PUT (rebuilt, not fetched: a GET would count as a pull and keep it).
    const doc = { schemaVersion: 2, mediaType: image.mediaType, config: image.config, layers: [image.layer] };
    const again = await putManifest(url, repo, doc, image.digest);
    assert.equal(again.digest, image.digest);
    const run = await runGc(url, false, 60_000);
    assert.ok(
      !run.items.some((i) => i.kind === "manifest" && i.digest === image.digest),
      `the manifest just re-pushed was collected: ${JSON.stringify(run.items)}`,
    );
    assert.equal(await manifestStatus(url, repo, image.digest), 200);
  });

  test("a run's grace window out of bounds is refused before the lease is taken", async () => {
    for (const graceMs of [1e15, Number.MAX_SAFE_INTEGER]) {
      const res = await adminCall(server.url, "POST", "/gc", { dryRun: true, graceMs });
      const body = (await res.json()) as { errors: { code: string; message: string }[] };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.errors[0]?.code, "INVALID_REQUEST");
      assert.match(body.errors[0]?.message ?? "", /at most 10 years/);
    }
    // Nothing was left holding the lease: a run starts at once.
    assert.equal((await runGc(server.url, true)).status, "done");
  });

  test("a run while another holds the lease is refused with 409 CONFLICT naming it", async () => {
    const id = "00000000-0000-4000-8000-000000000001";
    const until = new Date(Date.now() + 60_000).toISOString();
    await queryMetadata(server.dataDir, "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)", [
      "gc",
      id,
      until,
    ]);
    await queryMetadata(
      server.dataDir,
      "INSERT INTO gc_runs (id, trigger, dry_run, actor, status, started_at) VALUES (?, 'manual', 0, 'alice', 'running', ?)",
      [id, new Date().toISOString()],
    );
    try {
      const res = await adminCall(server.url, "POST", "/gc", { dryRun: true });
      const body = (await res.json()) as { errors: { code: string; message: string }[] };
      assert.equal(res.status, 409);
      assert.equal(body.errors[0]?.code, "CONFLICT");
      assert.match(body.errors[0]?.message ?? "", /started by alice .* is running/);
      const shown = (await (await adminCall(server.url, "GET", `/gc/${id}`)).json()) as GcRun;
      assert.equal(shown.status, "running");
    } finally {
      await queryMetadata(server.dataDir, "DELETE FROM leases WHERE name = 'gc'");
    }
    // The lease gone, the run is shown as cut short (its node stopped), and a new one may start.
    const shown = (await (await adminCall(server.url, "GET", `/gc/${id}`)).json()) as GcRun;
    assert.equal(shown.status, "failed");
    assert.equal((await runGc(server.url, true)).status, "done");
  });

  test("bad input is refused in the error format; non-administrators are refused", async () => {
    const res = await adminCall(server.url, "POST", "/gc", { dryRun: "yes" });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code, "INVALID_REQUEST");
    const unknown = await adminCall(server.url, "GET", "/gc/not-a-run");
    assert.equal(unknown.status, 404);
    const anonymous = await fetch(`${server.url}/api/v1/gc`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(anonymous.status, 401);
  });

  test("only the last 100 finished runs are kept", async () => {
    const old = (i: number) => new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString();
    const rows = Array.from(
      { length: 105 },
      (_, i) => `('old-${i}', 'manual', 1, 'admin', 'done', '${old(i)}')`,
    );
    await queryMetadata(
      server.dataDir,
      `INSERT INTO gc_runs (id, trigger, dry_run, actor, status, started_at) VALUES ${rows.join(", ")}`,
    );
    const run = await runGc(server.url, true);
    const [count] = await queryMetadata<{ n: number | string }>(
      server.dataDir,
      "SELECT count(*) AS n FROM gc_runs",
    );
    assert.equal(Number(count?.n), 100);
    const listed = (await (await adminCall(server.url, "GET", "/gc?limit=100")).json()) as { runs: GcRun[] };
    assert.equal(listed.runs.length, 100);
    assert.equal(listed.runs[0]?.id, run.id, "the newest run first");
    assert.ok(!listed.runs.some((r) => r.id === "old-0"), "the oldest went");
  });
});

describe("scheduled garbage collection", () => {
  test("runs every gc.interval as the schedule, recorded and audited", async () => {
    const scheduled = await startAuthServer({ WHARF_GC_GRACE: "0", WHARF_GC_INTERVAL: "300ms" });
    try {
      let runs: GcRun[] = [];
      for (let i = 0; i < 100 && !runs.some((r) => r.status === "done"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        runs = ((await (await adminCall(scheduled.url, "GET", "/gc")).json()) as { runs: GcRun[] }).runs;
      }
      const done = runs.find((r) => r.status === "done");
      assert.ok(done, JSON.stringify(runs));
      assert.deepEqual([done.actor, done.dryRun], ["schedule", false]);
      const audit = (await (await adminCall(scheduled.url, "GET", "/audit?action=gc.run")).json()) as {
        events: { actor: string; target: string }[];
      };
      assert.ok(
        audit.events.some((e) => e.target === done.id && e.actor === "schedule"),
        JSON.stringify(audit),
      );
    } finally {
      await scheduled.stop();
    }
  });
});
