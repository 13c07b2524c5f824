import { runWorker, runWrkTransfer } from "../lib/load.js";
import type { Target } from "../lib/servers.js";
import { formatSize, MiB } from "../lib/stats.js";
import { workload, type Options, type Runnable } from "../lib/workload.js";

const mibPerSecond = (bytes: number, seconds: number) => bytes / MiB / seconds;
/** Small blobs are moved several times per measurement so one request's noise does not dominate. */
const repeat = (size: number, total: number) => Math.max(1, Math.ceil(total / size));
const throughput = { key: "mibs", label: "MiB/s", higherIsBetter: true };
/**
 * 1 GiB blobs skip the targets that would take minutes per repetition (Distribution pushes to the S3
 * server here at about 10 MiB/s) or add little a single stream shows (a second worker or node); their
 * biggest blob is 100 MiB.
 */
const GIB_TARGETS = ["embedded", "pg-s3", "distribution", "static"];
const targetsFor = (size: number) => (size >= 1024 * MiB ? GIB_TARGETS : undefined);

/**
 * Monolithic push (POST, then PUT ?digest= with the body) of fresh blobs, 32 MiB per repetition or as
 * many as `maxSeconds` allow (Distribution on the S3 server here takes seconds per small blob).
 */
export function pushMonolithic(size: number, reps: number, maxSeconds: number): Runnable {
  return workload({
    name: `push blob monolithic ${formatSize(size)}`,
    metrics: [throughput],
    reps,
    calibrate: true,
    targets: targetsFor(size),
    measure: async (target, _state, rep) => {
      const seed = `push-${size}-${rep}-${target.name}-${Date.now()}`;
      const count = repeat(size, 32 * MiB);
      const spec = {
        op: "push" as const,
        base: target.url,
        repo: "bench/push",
        size,
        seed,
        count,
        maxSeconds,
      };
      const r = await runWorker(spec);
      return { values: { mibs: mibPerSecond(Number(r.bytes), Number(r.seconds)) }, raw: r };
    },
  });
}

/** PATCH `chunk`-sized pieces with Content-Range, then PUT ?digest=. */
export function pushChunked(size: number, chunk: number, reps: number): Runnable {
  return workload({
    name: `push blob ${formatSize(size)} in ${formatSize(chunk)} chunks`,
    metrics: [throughput],
    reps,
    calibrate: true,
    measure: async (target, _state, rep) => {
      const seed = `chunked-${size}-${rep}-${target.name}-${Date.now()}`;
      const spec = { op: "pushChunked" as const, base: target.url, repo: "bench/chunked", size, seed, chunk };
      const r = await runWorker(spec);
      return { values: { mibs: mibPerSecond(size, Number(r.seconds)) }, raw: r };
    },
  });
}

async function seedBlob(target: Target, size: number): Promise<string> {
  const seed = `pull-${size}-${target.name}-${Date.now()}`;
  const r = await runWorker({ op: "push", base: target.url, repo: "bench/pull", size, seed, count: 1 });
  const digest = String(r.digest);
  const check = await runWorker({
    op: "pull",
    base: target.url,
    repo: "bench/pull",
    digest,
    streams: 1,
    iterations: 1,
  });
  if (Number(check.bytes) !== size) throw new Error(`${target.name}: pulled ${check.bytes} of ${size} bytes`);
  return digest;
}

/**
 * GET one seeded blob with wrk for `seconds`: one connection, then `streams` (aggregate MiB/s). The
 * seeding pulls it back once through node:http and checks every byte arrived.
 */
export function pull(size: number, streams: number, reps: number, seconds: number): Runnable {
  return workload({
    name: `pull blob ${formatSize(size)}`,
    metrics: [
      { key: "single", label: "MiB/s 1 stream", higherIsBetter: true },
      { key: "multi", label: `MiB/s ${streams} streams`, higherIsBetter: true },
    ],
    reps,
    calibrate: true,
    targets: targetsFor(size),
    setup: (target) => seedBlob(target, size),
    measure: async (target, digest) => {
      const url = `${target.url}/v2/bench/pull/blobs/${digest}`;
      const one = await runWrkTransfer(url, 1, seconds);
      const many = await runWrkTransfer(url, streams, seconds);
      if (one.errors + many.errors > 0) throw new Error(`${target.name}: failed pulls`);
      return { values: { single: one.mibs, multi: many.mibs }, raw: { one, many } };
    },
  });
}

export function blobWorkloads(options: Options): Runnable[] {
  const { quick } = options;
  const sizes = quick ? [MiB, 10 * MiB, 100 * MiB] : [MiB, 10 * MiB, 100 * MiB, 1024 * MiB];
  const reps = (size: number) => (quick ? 2 : size >= 1024 * MiB ? 3 : size >= 100 * MiB ? 5 : 7);
  return [
    ...sizes.map((size) => pushMonolithic(size, reps(size), quick ? 5 : 10)),
    pushChunked(100 * MiB, 10 * MiB, reps(100 * MiB)),
    ...(quick ? [MiB, 100 * MiB] : [MiB, 100 * MiB, 1024 * MiB]).map((size) =>
      pull(size, 16, reps(size), quick ? 3 : 5),
    ),
  ];
}
