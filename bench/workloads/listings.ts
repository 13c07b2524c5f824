import { runWorker } from "../lib/load.js";
import type { Target } from "../lib/servers.js";
import { workload, type Options, type Runnable } from "../lib/workload.js";

const PAGE = 1000;
/**
 * The README's two: seeding 10,000 tags and 5,000 repositories through every S3 target would add about
 * a quarter of an hour to the run, and listing is a database query on every Wharf backend.
 */
const TARGETS = ["embedded", "distribution"];

/** Seeds untimed, then times following Link pagination (n=1000) to the end; checks the count. */
function listing(
  name: string,
  count: number,
  reps: number,
  seedFn: (t: Target) => Promise<number>,
  path: string,
  field: "tags" | "repositories",
): Runnable {
  return workload({
    name,
    metrics: [
      { key: "seconds", label: "seconds to list all", higherIsBetter: false },
      { key: "pages", label: "pages (n=1000)", higherIsBetter: false, informational: true },
      { key: "seedRate", label: "seeding req/s (untimed)", higherIsBetter: true },
    ],
    reps,
    targets: TARGETS,
    setup: seedFn,
    measure: async (target, seedRate) => {
      const r = await runWorker({ op: "list", base: target.url, path, field });
      if (Number(r.items) < count) throw new Error(`${target.name}: listed ${r.items} of ${count}`);
      return { values: { seconds: Number(r.seconds), pages: Number(r.pages), seedRate }, raw: r };
    },
  });
}

export function listingWorkloads({ quick }: Options): Runnable[] {
  const reps = quick ? 2 : 5;
  const tags = quick ? 1000 : 10_000;
  const repos = quick ? 500 : 5000;
  const tagNames = Array.from({ length: tags }, (_, i) => `v${i}`);
  return [
    listing(
      `list ${tags} tags`,
      tags,
      reps,
      async (target) => {
        const spec = {
          op: "seedImage" as const,
          base: target.url,
          repo: "bench/tags",
          tags: tagNames,
          layerSizes: [1024],
          seed: `tags-${target.name}`,
        };
        const r = await runWorker(spec);
        return tags / Number(r.seconds);
      },
      `/v2/bench/tags/tags/list?n=${PAGE}`,
      "tags",
    ),
    listing(
      `catalog of ${repos} repositories`,
      repos,
      reps,
      async (target) => {
        const spec = {
          op: "seedRepos" as const,
          base: target.url,
          prefix: "bench/catalog/r",
          count: repos,
          concurrency: 16,
          seed: `catalog-${target.name}`,
        };
        const r = await runWorker(spec);
        // Each repository: two blob pushes (POST+PUT each) and a manifest PUT.
        return (repos * 5) / Number(r.seconds);
      },
      `/v2/_catalog?n=${PAGE}`,
      "repositories",
    ),
  ];
}
