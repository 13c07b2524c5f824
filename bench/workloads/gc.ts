import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openSqlite, type Db } from "../../src/metadata/database.js";
import { ensureRepository } from "../../src/metadata/repositories.js";
import { setTag } from "../../src/metadata/tags.js";
import { batches } from "../../src/metadata/batches.js";
import { RssSampler } from "../lib/rss.js";
import { ROOT, startWharf, type Target } from "../lib/servers.js";
import { MiB } from "../lib/stats.js";
import type { Options, Runnable, WorkloadResult } from "../lib/workload.js";

const ADMIN = { name: "bench-admin", password: "bench-admin-password-1" };
const AUTH = `Basic ${Buffer.from(`${ADMIN.name}:${ADMIN.password}`).toString("base64")}`;
const REPOSITORIES = 20;
const LAYERS = 25;
const BLOB_BYTES = 256;
/** Concurrent pushers measuring pushes/s. */
const PUSHERS = 4;
const BASELINE_MS = 5000;

interface Seeded {
  blobs: number;
  /** Blobs a complete collection reclaims (unreferenced links, and the layers of untagged manifests). */
  unreferenced: number;
  untaggedManifests: number;
}

const sha = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/**
 * Seeds the database and the store directly (no HTTP): half the blobs referenced by tagged manifests,
 * 40% linked to a repository but referenced by nothing, 10% the layers of untagged manifests; every
 * row two hours old, so a one-hour grace window lets the collector take all that is unreferenced.
 */
async function seed(db: Db, storage: string, count: number, log: (line: string) => void): Promise<Seeded> {
  const old = new Date(Date.now() - 2 * 3600_000).toISOString();
  const started = Date.now();
  const digests: { digest: string; size: number }[] = [];
  for (let i = 0; i < count; i++) {
    const data = randomBytes(BLOB_BYTES);
    const digest = sha(data);
    const hex = digest.slice(7);
    const dir = join(storage, "blobs", "sha256", hex.slice(0, 2));
    if (i < 256 * 256) await mkdir(dir, { recursive: true });
    await writeFile(join(dir, hex), data);
    digests.push({ digest, size: data.length });
    if (i % 20_000 === 19_999)
      log(`  wrote ${i + 1} blob files (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  const repos = Array.from({ length: REPOSITORIES }, (_, r) => `bench-gc/app-${r}`);
  const referenced = Math.floor(count * 0.5);
  const linkedOnly = Math.floor(count * 0.4);
  let untaggedManifests = 0;
  await db.transaction().execute(async (trx) => {
    for (const repo of repos) await ensureRepository(trx, repo);
    for (const batch of batches(digests)) {
      await trx
        .insertInto("blobs")
        .values(batch.map((b) => ({ digest: b.digest, size: b.size, created_at: old, touched_at: old })))
        .execute();
    }
    const links = digests.map((b, i) => ({ repository: repos[i % REPOSITORIES]!, digest: b.digest }));
    for (const batch of batches(links)) {
      await trx
        .insertInto("repository_blobs")
        .values(batch.map((l) => ({ ...l, created_at: old, touched_at: old })))
        .execute();
    }
    // Manifests over consecutive runs of LAYERS blobs of one repository: tagged over the referenced half,
    // untagged over the last tenth; the 40% in between are linked and referenced by nothing.
    const byRepo = new Map<string, { digest: string; size: number; index: number }[]>();
    digests.forEach((b, index) => {
      const repo = repos[index % REPOSITORIES]!;
      const list = byRepo.get(repo) ?? [];
      list.push({ ...b, index });
      byRepo.set(repo, list);
    });
    let n = 0;
    for (const [repo, blobs] of byRepo) {
      for (let at = 0; at < blobs.length; at += LAYERS) {
        const layers = blobs.slice(at, at + LAYERS);
        const first = layers[0]!.index;
        const tagged = first < referenced;
        if (!tagged && first < referenced + linkedOnly) continue;
        const doc = {
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {
            mediaType: "application/vnd.oci.image.config.v1+json",
            digest: layers[0]!.digest,
            size: BLOB_BYTES,
          },
          layers: layers.slice(1).map((l) => ({
            mediaType: "application/vnd.oci.image.layer.v1.tar",
            digest: l.digest,
            size: l.size,
          })),
        };
        const content = Buffer.from(JSON.stringify(doc));
        const digest = sha(content);
        await trx
          .insertInto("manifests")
          .values({
            repository: repo,
            digest,
            media_type: doc.mediaType,
            artifact_type: doc.config.mediaType,
            subject_digest: null,
            annotations: null,
            size: content.length,
            content,
            created_at: old,
          })
          .execute();
        await trx
          .insertInto("manifest_references")
          .values(
            layers.map((l) => ({
              repository: repo,
              manifest_digest: digest,
              child_digest: l.digest,
              kind: "blob" as const,
            })),
          )
          .execute();
        if (tagged) await setTag(trx, repo, `v${n++}`, digest);
        else untaggedManifests++;
      }
    }
  });
  log(
    `  seeded ${count} blobs, ${untaggedManifests} untagged manifests (${Math.round((Date.now() - started) / 1000)} s)`,
  );
  return { blobs: count, unreferenced: count - referenced, untaggedManifests };
}

async function bootstrapAdmin(dataDir: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, "bin/wharf"),
      "user",
      "add",
      ADMIN.name,
      "--admin",
      "--password-stdin",
      "--data-dir",
      dataDir,
    ],
    { stdio: ["pipe", "ignore", "inherit"], env: { ...process.env, WHARF_LOG_LEVEL: "warn" } },
  );
  child.stdin.end(ADMIN.password);
  const code = await new Promise<number | null>((done) => child.on("exit", done));
  if (code !== 0) throw new Error(`wharf user add exited ${code}`);
}

/** Monolithic blob pushes (4 KiB, fresh content) from PUSHERS loops until `stop` resolves; returns pushes/s. */
async function pushRate(target: Target, stop: Promise<unknown>): Promise<number> {
  let done = false;
  void stop.then(() => (done = true));
  let pushes = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: PUSHERS }, async (_, p) => {
      while (!done) {
        const data = randomBytes(4096);
        const res = await fetch(`${target.url}/v2/bench-gc/push-${p}/blobs/uploads/?digest=${sha(data)}`, {
          method: "POST",
          headers: { Authorization: AUTH, "Content-Type": "application/octet-stream" },
          body: new Uint8Array(data),
        });
        await res.arrayBuffer();
        if (res.status !== 201) throw new Error(`push answered ${res.status}`);
        pushes++;
      }
    }),
  );
  return pushes / ((performance.now() - started) / 1000);
}

interface GcRun {
  id: string;
  status: string;
  count: number;
  bytes: number;
  error?: string;
  phases: { phase: string; count: number }[];
}

/** Starts a run through the admin API and polls it to its end. */
async function collect(target: Target, dryRun: boolean): Promise<GcRun> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${target.url}/api/v1${path}`, {
      method,
      headers: { Authorization: AUTH, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as GcRun;
  };
  let run = await call("POST", "/gc", { dryRun });
  while (run.status === "running") {
    await new Promise((resolve) => setTimeout(resolve, 100));
    run = await call("GET", `/gc/${run.id}`);
  }
  if (run.status !== "done") throw new Error(`the run failed: ${run.error ?? "?"}`);
  return run;
}

/**
 * Garbage collection over 100,000 blobs (10,000 with --quick), half of them collectable, seeded straight
 * into the database and store: wall time and the server's peak RSS of a dry run and of the real run, and
 * the pushes/s the server answers while each runs against the same pushers with no collection running.
 * Wharf embedded only (Distribution's collector needs the registry stopped or read-only).
 */
export function gcWorkload({ quick, scratch }: Options): Runnable {
  const count = quick ? 10_000 : 100_000;
  const name = `gc over ${count} blobs`;
  const metrics = [
    { key: "drySeconds", label: "dry run s", higherIsBetter: false },
    { key: "dryRss", label: "dry run peak RSS MiB", higherIsBetter: false },
    { key: "runSeconds", label: "real run s", higherIsBetter: false },
    { key: "runRss", label: "real run peak RSS MiB", higherIsBetter: false },
    { key: "pushesIdle", label: "pushes/s, no gc", higherIsBetter: true },
    { key: "pushesDry", label: "pushes/s during dry run", higherIsBetter: true },
    { key: "pushesRun", label: "pushes/s during real run", higherIsBetter: true },
    { key: "removed", label: "items removed", higherIsBetter: true, informational: true },
  ];
  return {
    name,
    async run(_targets, log) {
      const dataDir = join(scratch, "wharf-gc");
      await mkdir(join(dataDir, "storage"), { recursive: true });
      const db = await openSqlite(join(dataDir, "metadata.db"));
      let seeded: Seeded;
      try {
        seeded = await seed(db, join(dataDir, "storage"), count, log);
      } finally {
        await db.destroy();
      }
      await bootstrapAdmin(dataDir);
      const target = await startWharf({
        name: "embedded",
        dataDir,
        workers: 1,
        env: { WHARF_GC_GRACE: "1h", WHARF_GC_UNTAGGED: "true", WHARF_GC_INTERVAL: "0" },
      });
      const result: WorkloadResult = { name, metrics, samples: { embedded: {} }, raw: { embedded: [] } };
      try {
        // Warm-up first (the first pushes after start pay for cold caches and the seed's WAL checkpoint).
        await pushRate(target, new Promise((resolve) => setTimeout(resolve, BASELINE_MS)));
        const idle = await pushRate(target, new Promise((resolve) => setTimeout(resolve, BASELINE_MS)));
        // The first run is timed; pushes/s are counted while runs follow back to back for at least the
        // baseline's length (later real runs find nothing more to remove, but sweep everything again).
        const timed = async (dryRun: boolean) => {
          const sampler = new RssSampler(target.pids);
          const started = performance.now();
          let first: { run: GcRun; seconds: number } | undefined;
          const sweeping = (async () => {
            do {
              const run = await collect(target, dryRun);
              first ??= { run, seconds: (performance.now() - started) / 1000 };
            } while (performance.now() - started < BASELINE_MS);
          })();
          const pushes = await pushRate(
            target,
            sweeping.catch(() => undefined),
          );
          await sweeping;
          if (!first) throw new Error("no run finished");
          return { ...first, rss: sampler.stop().total / MiB, pushes };
        };
        const dry = await timed(true);
        const real = await timed(false);
        const values = {
          drySeconds: dry.seconds,
          dryRss: dry.rss,
          runSeconds: real.seconds,
          runRss: real.rss,
          pushesIdle: idle,
          pushesDry: dry.pushes,
          pushesRun: real.pushes,
          removed: real.run.count,
        };
        const samples = result.samples.embedded!;
        for (const [key, value] of Object.entries(values)) (samples[key] ??= []).push(value);
        result.raw.embedded!.push({
          values,
          seeded,
          dry: dry.run.phases,
          real: real.run.phases,
          bytes: real.run.bytes,
        });
        log(
          `  ${name}: ${Object.entries(values)
            .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
            .join(" ")}; phases ${real.run.phases.map((p) => `${p.phase}=${p.count}`).join(" ")}`,
        );
      } finally {
        await target.stop();
      }
      return result;
    },
  };
}
