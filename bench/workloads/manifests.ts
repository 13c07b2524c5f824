import { runWorker, runWrk } from "../lib/load.js";
import { ACCEPT } from "../load/registry.js";
import { workload, type Metric, type Options, type Runnable } from "../lib/workload.js";

const CONCURRENCY = [1, 16, 64];

function readMetrics(method: string): Metric[] {
  return CONCURRENCY.flatMap((c) => [
    { key: `rate${c}`, label: `c=${c} req/s`, higherIsBetter: true },
    { key: `p50_${c}`, label: `c=${c} p50 ms`, higherIsBetter: false },
    { key: `p99_${c}`, label: `c=${c} p99 ms`, higherIsBetter: false },
    { key: `errors${c}`, label: `c=${c} ${method} errors`, higherIsBetter: false },
  ]);
}

/** GET (wrk) or HEAD (node:http, see runRequests) of one manifest by tag at each concurrency. */
function manifestReads(method: "GET" | "HEAD", reps: number, seconds: number): Runnable {
  return workload({
    name: `manifest ${method} by tag`,
    metrics: readMetrics(method),
    reps,
    calibrate: true,
    setup: async (target) => {
      const seed = `manifest-${method}-${target.name}`;
      await runWorker({
        op: "seedImage",
        base: target.url,
        repo: "bench/manifest",
        tags: ["latest"],
        layerSizes: [4096],
        seed,
      });
    },
    measure: async (target) => {
      const values: Record<string, number> = {};
      for (const c of CONCURRENCY) {
        const url = `${target.url}/v2/bench/manifest/manifests/latest`;
        const r =
          method === "GET"
            ? await runWrk(url, method, c, seconds)
            : await runWorker({ op: "requests", url, method, accept: ACCEPT, connections: c, seconds });
        Object.assign(values, {
          [`rate${c}`]: Number(r.rate),
          [`p50_${c}`]: Number(r.p50),
          [`p99_${c}`]: Number(r.p99),
          [`errors${c}`]: Number(r.errors),
        });
      }
      return { values };
    },
  });
}

/**
 * `count` distinct manifests to distinct tags at concurrency 16 (fewer if `maxSeconds` runs out first),
 * in a fresh repository per repetition.
 */
function manifestPut(count: number, reps: number, maxSeconds: number): Runnable {
  return workload({
    name: "manifest PUT c=16",
    metrics: [
      { key: "rate", label: "req/s", higherIsBetter: true },
      { key: "p50", label: "p50 ms", higherIsBetter: false },
      { key: "p99", label: "p99 ms", higherIsBetter: false },
    ],
    reps,
    calibrate: true,
    measure: async (target, _state, rep) => {
      const seed = `mput-${target.name}-${rep}-${Date.now()}`;
      const spec = {
        op: "manifestPut" as const,
        base: target.url,
        repo: `bench/mput${rep}`,
        count,
        concurrency: 16,
        seed,
        maxSeconds,
      };
      const r = await runWorker(spec);
      return { values: { rate: Number(r.rate), p50: Number(r.p50), p99: Number(r.p99) }, raw: r };
    },
  });
}

export function manifestWorkloads({ quick }: Options): Runnable[] {
  const reps = quick ? 2 : 3;
  const seconds = quick ? 2 : 5;
  return [
    manifestReads("GET", reps, seconds),
    manifestReads("HEAD", reps, seconds),
    manifestPut(quick ? 300 : 2000, reps, quick ? 5 : 15),
  ];
}
