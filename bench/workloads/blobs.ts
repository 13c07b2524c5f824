import { runWorker } from "../lib/load.js";
import type { Target } from "../lib/servers.js";
import { formatSize, MiB } from "../lib/stats.js";
import { workload, type Options, type Runnable } from "../lib/workload.js";

const mibPerSecond = (bytes: number, seconds: number) => bytes / MiB / seconds;
/** Small blobs are moved several times per measurement so one request's noise does not dominate. */
const repeat = (size: number, total: number) => Math.max(1, Math.ceil(total / size));
const throughput = { key: "mibs", label: "MiB/s", higherIsBetter: true };

/** Monolithic push (POST, then PUT ?digest= with the body) of a fresh blob per repetition. */
export function pushMonolithic(size: number, reps: number): Runnable {
  return workload({
    name: `push blob monolithic ${formatSize(size)}`,
    metrics: [throughput],
    reps,
    calibrate: true,
    measure: async (target, _state, rep) => {
      const seed = `push-${size}-${rep}-${target.name}-${Date.now()}`;
      const count = repeat(size, 32 * MiB);
      const r = await runWorker({ op: "push", base: target.url, repo: "bench/push", size, seed, count });
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
  return String(r.digest);
}

/** GET one seeded blob: a single stream, then `streams` concurrent streams (aggregate MiB/s). */
export function pull(size: number, streams: number, reps: number): Runnable {
  return workload({
    name: `pull blob ${formatSize(size)}`,
    metrics: [
      { key: "single", label: "MiB/s 1 stream", higherIsBetter: true },
      { key: "multi", label: `MiB/s ${streams} streams`, higherIsBetter: true },
    ],
    reps,
    calibrate: true,
    setup: (target) => seedBlob(target, size),
    measure: async (target, digest) => {
      const spec = { op: "pull" as const, base: target.url, repo: "bench/pull", digest };
      const iterations = repeat(size, 64 * MiB);
      const one = await runWorker({ ...spec, streams: 1, iterations });
      const many = await runWorker({ ...spec, streams, iterations });
      const values = {
        single: mibPerSecond(Number(one.bytes), Number(one.seconds)),
        multi: mibPerSecond(Number(many.bytes), Number(many.seconds)),
      };
      if (Number(one.bytes) !== size * iterations || Number(many.bytes) !== size * streams * iterations)
        throw new Error(`${target.name}: short pull`);
      return { values, raw: { one, many } };
    },
  });
}

export function blobWorkloads(options: Options): Runnable[] {
  const { quick } = options;
  const sizes = quick ? [MiB, 10 * MiB, 100 * MiB] : [MiB, 10 * MiB, 100 * MiB, 1024 * MiB];
  const reps = (size: number) => (quick ? 2 : size >= 1024 * MiB ? 3 : size >= 100 * MiB ? 5 : 7);
  return [
    ...sizes.map((size) => pushMonolithic(size, reps(size))),
    pushChunked(100 * MiB, 10 * MiB, reps(100 * MiB)),
    ...(quick ? [MiB, 100 * MiB] : [MiB, 100 * MiB, 1024 * MiB]).map((size) => pull(size, 16, reps(size))),
  ];
}
