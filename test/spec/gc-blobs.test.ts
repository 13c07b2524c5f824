/**
 * The blob state machine's interleavings, each forced deterministically: the registry's domain opened
 * in-process on the run's backend (SQLite + files, or PostgreSQL + S3), with its blob store wrapped so a
 * test can hold a sweep's delete or an upload's commit at the exact step it races on. The race test
 * (gc-race.test.ts) covers the same over HTTP, under load.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pino } from "pino";
import { loadServerConfig } from "../../src/cli/config.js";
import { openBlobStore, openMetadata } from "../../src/cli/backends.js";
import { Registry } from "../../src/registry/registry.js";
import { GarbageCollector } from "../../src/registry/gc/collector.js";
import { blobPhases } from "../../src/registry/gc/blob-sweep.js";
import { KeyedLock } from "../../src/registry/keyed-lock.js";
import type { GcReport } from "../../src/registry/gc/types.js";
import type { SignatureRecorder } from "../../src/registry/trust/signatures.js";
import { RegistryError } from "../../src/oci/errors.js";
import type { BlobStore } from "../../src/storage/blob-store.js";
import { deleteDeletingRow, deleteStaleLink } from "../../src/metadata/gc-blobs.js";
import { linkBlob } from "../../src/metadata/blobs.js";
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from "kysely";
import type { SweepPhase } from "../../src/registry/gc/types.js";
import { backendOf } from "../helpers/backends.js";
import { digest, randomBlob, sleep } from "./support.js";

const HOUR = 3600_000;
const log = pino({ level: "silent" });

/** A step of the store held until the test lets it go. */
class Gate {
  reached!: Promise<void>;
  private arrive!: () => void;
  private open!: () => void;
  private readonly opened: Promise<void>;
  constructor() {
    this.reached = new Promise((resolve) => (this.arrive = resolve));
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
  async pass(): Promise<void> {
    this.arrive();
    await this.opened;
  }
  release(): void {
    this.open();
  }
}

/** The store, with `delete` and `commitUpload` held at a gate when one is set. */
function gatedStore(store: BlobStore, gates: { delete?: Gate; commit?: Gate }): BlobStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "delete") {
        return async (d: string) => {
          await gates.delete?.pass();
          return target.delete(d);
        };
      }
      if (prop === "commitUpload") {
        return async (...args: Parameters<BlobStore["commitUpload"]>) => {
          await gates.commit?.pass();
          return target.commitUpload(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

let dataDir: string;
let registry: Registry;
let store: BlobStore;
const gates: { delete?: Gate; commit?: Gate } = {};
/** Runs before a manifest PUT's transaction, after its checks outside it (see the PUT test). */
let beforeManifestWrite: (() => Promise<void>) | undefined;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "wharf-gc-blobs-"));
  const env = await backendOf(dataDir);
  const config = await loadServerConfig({ env, flags: { dataDir } });
  // The S3 client reads its credentials from the process environment, as the server's does.
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    if (env[name]) process.env[name] = env[name];
  const db = await openMetadata(config, { migrate: true });
  store = gatedStore(await openBlobStore(config), gates);
  const gc = { graceMs: HOUR, intervalMs: 0, untagged: false };
  registry = new Registry(db, store, { uploadTtlMs: HOUR, gc }, log);
  await registry.start();
  // A hook between the PUT's checks and its write: the signature recorder's check runs exactly there.
  const real = registry.signatures;
  const hooked = {
    check: async (...args: Parameters<SignatureRecorder["check"]>) => {
      await beforeManifestWrite?.();
      return real.check(...args);
    },
    record: real.record.bind(real),
    recorded: real.recorded.bind(real),
  };
  registry.manifests.trackSignatures(hooked as unknown as SignatureRecorder);
});

after(async () => {
  await (registry as Registry | undefined)?.stop();
  (store as { close?: () => void }).close?.();
  await rm(dataDir, { recursive: true, force: true });
});

/** One collection of the byte-reclaiming phases with its own grace window. */
function collect(
  graceMs: number,
  dryRun = false,
  deps: { commits?: KeyedLock; deleteLeaseMs?: number } = {},
): Promise<GcReport> {
  const phases = blobPhases(registry.db, store, {
    commits: deps.commits ?? new KeyedLock(),
    quotas: registry.quotas,
    expireUploads: async () => 0,
    uploadTtlMs: HOUR,
    ...(deps.deleteLeaseMs === undefined ? {} : { deleteLeaseMs: deps.deleteLeaseMs }),
  });
  const collector = new GarbageCollector(
    registry.db,
    phases,
    { graceMs, intervalMs: 0, untagged: false },
    log,
  );
  return collector.run({ dryRun, trigger: "manual", actor: "test" });
}

const phase = (report: GcReport, name: string) => report.phases.find((p) => p.phase === name);

async function push(repository: string, data: Buffer): Promise<string> {
  const d = digest(data);
  await registry.uploads.upload(repository, d, Readable.from([data]), {});
  return d;
}

/** As if nothing had touched the blob and its links for an hour (or `ageMs`). */
async function backdate(d: string, ageMs = HOUR): Promise<void> {
  const old = new Date(Date.now() - ageMs).toISOString();
  await registry.db.updateTable("blobs").set({ touched_at: old }).where("digest", "=", d).execute();
  await registry.db
    .updateTable("repository_blobs")
    .set({ touched_at: old })
    .where("digest", "=", d)
    .execute();
}

async function readBack(repository: string, d: string): Promise<string> {
  const info = await registry.blobs.stat(repository, d);
  const content = await registry.blobs.content(info);
  assert.ok("stream" in content || "reader" in content);
  let data: Buffer;
  if ("stream" in content) {
    const chunks: Buffer[] = [];
    for await (const chunk of content.stream) chunks.push(chunk as Buffer);
    data = Buffer.concat(chunks);
  } else {
    data = Buffer.alloc(info.size);
    let at = 0;
    while (at < info.size) at += await content.reader.read(data.subarray(at), at, info.size - at);
    await content.reader.close();
  }
  return digest(data);
}

const unknownBlob = (err: unknown) => err instanceof RegistryError && err.code === "BLOB_UNKNOWN";

describe("the blob state machine under garbage collection", { timeout: 120_000 }, () => {
  test("a blob being deleted answers 404, and is not mounted from", async () => {
    const d = await push("gc/deleting", randomBlob(2000));
    await registry.db.updateTable("blobs").set({ status: "deleting" }).where("digest", "=", d).execute();
    await assert.rejects(registry.blobs.stat("gc/deleting", d), unknownBlob);
    const mounted = await registry.uploads.mount("gc/deleting-target", d, "gc/deleting");
    assert.equal(mounted.mounted, false, "a blob being deleted was mounted");
    await registry.db.updateTable("blobs").set({ status: "live" }).where("digest", "=", d).execute();
  });

  test("a blob HEADed just before the sweep survives it; one nobody touched goes", async () => {
    const headed = await push("gc/head", randomBlob(3000));
    const idle = await push("gc/head", randomBlob(3000));
    await backdate(headed);
    await backdate(idle);
    // The HEAD that lets a client skip the upload (it will reference the blob in a manifest next).
    await registry.blobs.stat("gc/head", headed);
    const report = await collect(10 * 60_000);
    assert.equal(await readBack("gc/head", headed), headed);
    await assert.rejects(registry.blobs.stat("gc/head", idle), unknownBlob);
    assert.equal(await store.stat(idle), null, "the untouched blob's bytes are still stored");
    assert.ok((phase(report, "links")?.count ?? 0) >= 1);
    assert.ok((phase(report, "blobs")?.bytes ?? 0) >= 3000);
  });

  test("a manifest PUT whose blob link is swept between its checks and its write is refused", async () => {
    const config = Buffer.from('{"race":"put"}');
    const layer = randomBlob(4000);
    const configDigest = await push("gc/put", config);
    const layerDigest = await push("gc/put", layer);
    await backdate(layerDigest);
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: configDigest,
          size: config.length,
        },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length },
        ],
      }),
    );
    let swept: GcReport | undefined;
    beforeManifestWrite = async () => {
      swept = await collect(10 * 60_000);
    };
    try {
      await assert.rejects(
        registry.manifests.put("gc/put", "v1", "application/vnd.oci.image.manifest.v1+json", body),
        (err: unknown) => err instanceof RegistryError && err.code === "MANIFEST_BLOB_UNKNOWN",
      );
    } finally {
      beforeManifestWrite = undefined;
    }
    assert.equal(phase(swept as GcReport, "blobs")?.count, 1, "the sweep took the layer meanwhile");
    await assert.rejects(registry.manifests.get("gc/put", "v1"));
    // Pushed again, the same manifest is accepted and complete.
    await push("gc/put", layer);
    await registry.manifests.put("gc/put", "v1", "application/vnd.oci.image.manifest.v1+json", body);
    assert.equal(await readBack("gc/put", layerDigest), layerDigest);
  });

  test("an upload completing while its blob is being deleted waits, then the blob is stored", async () => {
    const data = randomBlob(5000);
    const d = await push("gc/wait-a", data);
    await registry.blobs.delete("gc/wait-a", d);
    await backdate(d);
    const gate = new Gate();
    gates.delete = gate;
    const sweep = collect(10 * 60_000);
    await gate.reached;
    delete gates.delete;
    // The row is `deleting` and the bytes about to go: the upload must wait for the sweep to finish.
    let settled = false;
    const upload = push("gc/wait-b", data).finally(() => (settled = true));
    await sleep(300);
    assert.equal(settled, false, "the upload completed while its blob was being deleted");
    gate.release();
    const report = await sweep;
    assert.equal(phase(report, "blobs")?.count, 1);
    assert.equal(await upload, d);
    assert.equal(await readBack("gc/wait-b", d), d);
  });

  test("an upload whose blob was collected while it committed is refused, and its file goes later", async () => {
    const data = randomBlob(6000);
    const d = digest(data);
    const gate = new Gate();
    gates.commit = gate;
    const upload = push("gc/refused", data);
    // Claimed (a live row, no link yet) and held before the commit: a zero-grace sweep takes it.
    await gate.reached;
    delete gates.commit;
    await sleep(20);
    const report = await collect(0);
    assert.ok(
      report.items.some((i) => i.kind === "blob" && i.digest === d),
      "the sweep took the claimed blob",
    );
    gate.release();
    await assert.rejects(
      upload,
      (err: unknown) =>
        err instanceof RegistryError && err.code === "BLOB_UPLOAD_INVALID" && err.status === 503,
    );
    await assert.rejects(registry.blobs.stat("gc/refused", d), unknownBlob);
    // The committed file is known to nobody: an orphan, removed once older than the window.
    assert.notEqual(await store.stat(d), null);
    await sleep(1100);
    const later = await collect(0);
    assert.ok(later.items.some((i) => i.kind === "orphan" && i.digest === d));
    assert.equal(await store.stat(d), null);
  });

  test("files the database does not know are removed only after the window", async () => {
    const data = randomBlob(7000);
    const d = digest(data);
    const id = "0b7e0c55-orphan-test";
    const state = await store.createUpload(id);
    const appended = await store.appendUpload(id, state, 0, Readable.from([data]));
    await store.commitUpload(id, appended.state, d, data.length);
    const young = await collect(HOUR);
    assert.equal(phase(young, "orphans")?.count, 0);
    assert.notEqual(await store.stat(d), null, "a young orphan was removed");
    // Older than a one-second window (object stores keep modification times to the second).
    await sleep(2100);
    const old = await collect(1000);
    assert.equal(phase(old, "orphans")?.count, 1);
    assert.equal(phase(old, "orphans")?.bytes, data.length);
    assert.equal(await store.stat(d), null, "the orphan is still stored");
  });

  test("a crashed sweep's deleting row is taken over by an upload, and its late cleanup is a no-op", async () => {
    const data = randomBlob(8000);
    const d = await push("gc/crashed-a", data);
    await registry.blobs.delete("gc/crashed-a", d);
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    await registry.db
      .updateTable("blobs")
      .set({ status: "deleting", generation: "crashed", touched_at: stale })
      .where("digest", "=", d)
      .execute();
    assert.equal(await push("gc/crashed-b", data), d);
    assert.equal(await readBack("gc/crashed-b", d), d);
    assert.equal(await deleteDeletingRow(registry.db, d, "crashed"), false);
    assert.equal(await readBack("gc/crashed-b", d), d);
  });

  test("a blob HEADed just before a run with a short window survives it (reads refresh within 15 s)", async () => {
    const headed = await push("gc/head-short", randomBlob(3100));
    // Two minutes untouched: far younger than gc.grace/4 (15 minutes), older than the run's minute.
    await backdate(headed, 120_000);
    await registry.blobs.stat("gc/head-short", headed);
    const report = await collect(60_000);
    assert.ok(!report.items.some((i) => i.digest === headed), JSON.stringify(report.items));
    assert.equal(await readBack("gc/head-short", headed), headed);
  });

  test(
    "a link re-linked while a link sweep deletes it stays (the touch comes before the insert)",
    { skip: !process.env.WHARF_TEST_BACKEND?.startsWith("postgres") && "SQLite serialises writers" },
    async () => {
      const repo = "gc/relink";
      const d = await push(repo, randomBlob(3200));
      await backdate(d);
      const cutoff = new Date(Date.now() - 10 * 60_000).toISOString();
      // Right after linkBlob's first statement on the link, a link sweep's DELETE runs on another
      // connection: it commits at once unless that statement holds the link's row (it then waits).
      let sweep: Promise<boolean> | undefined;
      const ids = new Set<unknown>();
      const plugin: KyselyPlugin = {
        transformQuery(args: PluginTransformQueryArgs) {
          if (!sweep && JSON.stringify(args.node).includes('"repository_blobs"')) ids.add(args.queryId);
          return args.node;
        },
        async transformResult(args: PluginTransformResultArgs) {
          if (ids.has(args.queryId) && !sweep) {
            sweep = deleteStaleLink(registry.db, { repository: repo, digest: d }, cutoff);
            await Promise.race([sweep, sleep(500)]);
          }
          return args.result;
        },
      };
      const outcome = await registry.db
        .withPlugin(plugin)
        .transaction()
        .execute((trx) => linkBlob(trx, repo, d));
      const deleted = await sweep;
      assert.equal(outcome, "existing");
      assert.equal(deleted, false, "the sweep deleted a link just touched");
      assert.equal(await readBack(repo, d), d);
    },
  );

  test("an orphan whose deletion stalls past half the delete lease is left for a later run", async () => {
    const data = randomBlob(7100);
    const d = digest(data);
    const id = "0b7e0c55-orphan-stall";
    const state = await store.createUpload(id);
    const appended = await store.appendUpload(id, state, 0, Readable.from([data]));
    await store.commitUpload(id, appended.state, d, data.length);
    await sleep(2100);
    // The blob's commit lock is held (as a replacement would) until the claim is older than half the lease.
    const commits = new KeyedLock();
    let held!: () => void;
    const holding = commits.run(d, () => new Promise<void>((resolve) => (held = resolve)));
    const run = collect(1000, false, { commits, deleteLeaseMs: 400 });
    for (let i = 0; i < 200; i++) {
      const row = await registry.db.selectFrom("blobs").select("status").where("digest", "=", d).execute();
      if (row[0]?.status === "deleting") break;
      await sleep(20);
    }
    await sleep(300);
    held();
    await holding;
    const report = await run;
    assert.equal(phase(report, "orphans")?.count, 0, JSON.stringify(report.items));
    assert.equal(phase(report, "orphans")?.skipped, 1);
    assert.notEqual(await store.stat(d), null, "a stalled sweep deleted the orphan's bytes");
    const rows = await registry.db.selectFrom("blobs").select("digest").where("digest", "=", d).execute();
    assert.equal(rows.length, 0, "the claim was not released");
    // A later run removes it.
    const later = await collect(1000);
    assert.equal(phase(later, "orphans")?.count, 1);
    assert.equal(await store.stat(d), null);
  });

  test("a deleting row a crashed sweep left is finished by the next run: bytes and row go", async () => {
    const data = randomBlob(8100);
    const d = await push("gc/interrupted", data);
    await registry.blobs.delete("gc/interrupted", d);
    const stale = new Date(Date.now() - 10 * 60_000).toISOString();
    await registry.db
      .updateTable("blobs")
      .set({ status: "deleting", generation: "crashed-sweep", touched_at: stale })
      .where("digest", "=", d)
      .execute();
    const dry = await collect(HOUR, true);
    const report = await collect(HOUR);
    const item = report.items.find((i) => i.digest === d);
    assert.deepEqual(item, { kind: "blob", digest: d, bytes: 8100, reason: "interrupted deletion" });
    assert.deepEqual(
      dry.items.find((i) => i.digest === d),
      item,
      "the dry run listed it too",
    );
    assert.equal(await store.stat(d), null, "the bytes are still stored");
    const rows = await registry.db.selectFrom("blobs").select("digest").where("digest", "=", d).execute();
    assert.equal(rows.length, 0, "the deleting row is still there");
  });

  test("a scheduled run is skipped when any node's run started within half the interval", async () => {
    const collector = new GarbageCollector(
      registry.db,
      [],
      { graceMs: HOUR, intervalMs: HOUR, untagged: false },
      log,
    );
    // The earlier tests' runs forgotten: the first scheduled run below is due.
    await registry.db.deleteFrom("gc_runs").execute();
    const dry = await collector.run({ dryRun: true, trigger: "manual", actor: "test" });
    // A dry run does not count: the schedule still runs after one.
    const first = await collector.run({ dryRun: false, trigger: "schedule", actor: "schedule" });
    assert.notEqual(first.id, dry.id);
    await assert.rejects(
      collector.run({ dryRun: false, trigger: "schedule", actor: "schedule" }),
      /skipped: a run started/,
    );
    const runs = await registry.db
      .selectFrom("gc_runs")
      .select("id")
      .where("trigger", "=", "schedule")
      .where("started_at", ">=", first.startedAt)
      .execute();
    assert.equal(runs.length, 1, "a second scheduled run was made");
    // A manual run is never skipped.
    assert.equal((await collector.run({ dryRun: false, trigger: "manual", actor: "test" })).status, "done");
  });

  test("a run whose lease renewals keep failing stops (it never outlives its lease)", async () => {
    let failing = false;
    const leasesDown: KyselyPlugin = {
      transformQuery(args: PluginTransformQueryArgs) {
        if (failing && JSON.stringify(args.node).includes('"leases"')) throw new Error("leases unreachable");
        return args.node;
      },
      async transformResult(args: PluginTransformResultArgs) {
        return args.result;
      },
    };
    // A phase that works until told to stop (bounded: 50 rounds of 100 ms).
    let rounds = 0;
    const busy: SweepPhase = {
      name: "busy",
      run: async (ctx) => {
        failing = true;
        while (!ctx.signal.aborted && rounds < 50) {
          rounds++;
          await sleep(100);
        }
        failing = false;
        return { count: 0, bytes: 0, skipped: 0 };
      },
    };
    const collector = new GarbageCollector(
      registry.db.withPlugin(leasesDown),
      [busy],
      { graceMs: HOUR, intervalMs: 0, untagged: false },
      log,
      undefined,
      400,
    );
    try {
      await assert.rejects(
        collector.run({ dryRun: false, trigger: "manual", actor: "test" }),
        /lease could not be renewed/,
      );
    } finally {
      failing = false;
    }
    assert.ok(rounds < 50, `the run went on for ${rounds} rounds`);
  });

  test("a dry run reports exactly what the real run then removes, and removes nothing", async () => {
    const unlinked = await push("gc/dry", randomBlob(9000));
    const config = Buffer.from('{"dry":"run"}');
    const configDigest = await push("gc/dry", config);
    await registry.manifests.put(
      "gc/dry",
      "v1",
      "application/vnd.oci.image.manifest.v1+json",
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {
            mediaType: "application/vnd.oci.image.config.v1+json",
            digest: configDigest,
            size: config.length,
          },
          layers: [],
        }),
      ),
    );
    await backdate(unlinked);
    await backdate(configDigest);
    const dry = await collect(10 * 60_000, true);
    assert.ok(dry.items.some((i) => i.kind === "link" && i.digest === unlinked));
    assert.ok(dry.items.some((i) => i.kind === "blob" && i.digest === unlinked && i.bytes === 9000));
    assert.ok(!dry.items.some((i) => i.digest === configDigest), "a referenced blob would go");
    // Looked at in the store and the database directly: a read through the registry would touch it.
    assert.notEqual(await store.stat(unlinked), null, "the dry run removed the bytes");
    const link = await registry.db
      .selectFrom("repository_blobs")
      .select("digest")
      .where("digest", "=", unlinked)
      .execute();
    assert.equal(link.length, 1, "the dry run removed the link");
    const real = await collect(10 * 60_000);
    const summary = (r: GcReport) => ({
      phases: r.phases.map((p) => ({ ...p, skipped: 0 })),
      items: r.items.map((i) => JSON.stringify(i)).sort(),
    });
    assert.deepEqual(summary(real), summary(dry));
    assert.equal(await store.stat(unlinked), null);
    assert.equal(await readBack("gc/dry", configDigest), configDigest);
  });
});
