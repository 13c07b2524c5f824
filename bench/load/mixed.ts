import { percentile } from "../lib/stats.js";
import * as reg from "./registry.js";

export interface MixedSpec {
  base: string;
  clients: number;
  seconds: number;
  /** Seeded images to pull: `pullRepo:tag` for each tag. */
  pullRepo: string;
  pullTags: string[];
  pushRepo: string;
  pushLayerSize: number;
  pushFraction: number;
  seed: string;
}

interface Pulled {
  config: { digest: string };
  layers: { digest: string }[];
}

/** Pull: the manifest by tag, then its config and layers. */
async function pullImage(spec: MixedSpec, tag: string): Promise<void> {
  const manifest = JSON.parse((await reg.getManifest(spec.base, spec.pullRepo, tag)).toString()) as Pulled;
  for (const blob of [manifest.config, ...manifest.layers]) {
    await reg.pullBlob(spec.base, spec.pullRepo, blob.digest);
  }
}

/** `clients` loops for a fixed time, each op a pull (80%) or a push of a small fresh image (20%). */
export async function runMixed(spec: MixedSpec) {
  const latencies: number[] = [];
  let ops = 0;
  let pulls = 0;
  let pushes = 0;
  let errors = 0;
  let lastError = "";
  let counter = 0;
  const deadline = performance.now() + spec.seconds * 1000;
  const client = async (id: number) => {
    while (performance.now() < deadline) {
      const n = counter++;
      const isPush = Math.random() < spec.pushFraction;
      const t = performance.now();
      try {
        if (isPush) {
          await reg.pushImage(
            spec.base,
            spec.pushRepo,
            `c${id}-${n}`,
            [spec.pushLayerSize],
            `${spec.seed}/${n}`,
          );
          pushes++;
        } else {
          await pullImage(spec, spec.pullTags[n % spec.pullTags.length] ?? "latest");
          pulls++;
        }
        ops++;
        latencies.push(performance.now() - t);
      } catch (err) {
        errors++;
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: spec.clients }, (_, id) => client(id)));
  const elapsed = (performance.now() - start) / 1000;
  return {
    seconds: elapsed,
    rate: ops / elapsed,
    ops,
    pulls,
    pushes,
    errors,
    lastError,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
