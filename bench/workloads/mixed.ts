import { runWorker } from "../lib/load.js";
import { KiB } from "../lib/stats.js";
import { workload, type Options, type Runnable } from "../lib/workload.js";

const PULL_TAGS = Array.from({ length: 8 }, (_, i) => `img${i}`);

/** 32 clients for a fixed time: 80% pulls of seeded images (manifest + blobs), 20% small pushes. */
export function mixedWorkloads({ quick }: Options): Runnable[] {
  const seconds = quick ? 5 : 20;
  return [
    workload({
      name: "mixed 32 clients 80% pull / 20% push",
      metrics: [
        { key: "rate", label: "ops/s", higherIsBetter: true },
        { key: "p50", label: "op p50 ms", higherIsBetter: false },
        { key: "p99", label: "op p99 ms", higherIsBetter: false },
        { key: "errors", label: "errors", higherIsBetter: false },
      ],
      reps: quick ? 1 : 3,
      setup: async (target) => {
        for (const tag of PULL_TAGS) {
          const seed = `mixed-${target.name}-${tag}`;
          await runWorker({
            op: "seedImage",
            base: target.url,
            repo: "bench/mixed",
            tags: [tag],
            layerSizes: [512 * KiB, 64 * KiB],
            seed,
          });
        }
      },
      measure: async (target, _state, rep) => {
        const r = await runWorker({
          op: "mixed",
          base: target.url,
          clients: 32,
          seconds,
          pullRepo: "bench/mixed",
          pullTags: PULL_TAGS,
          pushRepo: `bench/mixed-push${rep}`,
          pushLayerSize: 64 * KiB,
          pushFraction: 0.2,
          seed: `mixed-${target.name}-${rep}-${Date.now()}`,
        });
        return {
          values: { rate: Number(r.rate), p50: Number(r.p50), p99: Number(r.p99), errors: Number(r.errors) },
          raw: r,
        };
      },
    }),
  ];
}
