import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "../../src/client/client.js";
import { parseReference } from "../../src/client/reference.js";
import { resolveTag, type ResolveOptions } from "../../src/client/resolve.js";
import { startProxy } from "../../test/client/proxy.js";
import { seedTags } from "../../test/helpers/tags.js";
import type { Target } from "../lib/servers.js";
import type { Metric, Options, Runnable, WorkloadResult } from "../lib/workload.js";

const POLICY = { semver: "^1.2" };
/** 0.0.0 … 49.99.9: ^1.2 matches 980 of them, 1.99.9 wins. */
const tagName = (i: number) => `${Math.floor(i / 1000)}.${Math.floor(i / 10) % 100}.${i % 10}`;

const METRICS: Metric[] = [
  { key: "seconds", label: "s per resolve (Wharf endpoint, Dist paged)", higherIsBetter: false },
  {
    key: "requests",
    label: "requests (Wharf endpoint, Dist paged)",
    higherIsBetter: false,
    informational: true,
  },
  { key: "pagedSeconds", label: "s per resolve (paged by client)", higherIsBetter: false },
  { key: "pagedRequests", label: "requests (paged by client)", higherIsBetter: false, informational: true },
  { key: "endpointVsPaged", label: "endpoint s / paged s", higherIsBetter: false, informational: true },
];

/**
 * `wharf resolve --semver ^1.2` over one repository of 50,000 tags (5,000 with --quick): Wharf's
 * server-side endpoint, Wharf paged by the client (n=1000, Link) and Distribution paged by the client
 * (it answers every tag in one response). Each resolution uses a fresh client, as a CLI run does (so
 * Wharf's is two requests: finding the API, then resolving). Requests are counted once through a
 * counting proxy, untimed; the timed repetitions go direct and interleave the three.
 */
export function resolveWorkload({ quick }: Options): Runnable {
  const count = quick ? 5_000 : 50_000;
  const reps = quick ? 3 : 7;
  const name = `resolve ^1.2 over ${count} tags`;
  return {
    name,
    async run(targets: Target[], log) {
      const wharf = targets.find((t) => t.name === "embedded");
      const distribution = targets.find((t) => t.name === "distribution");
      if (!wharf || !distribution) throw new Error("resolve needs the embedded and distribution targets");
      const tags = Array.from({ length: count }, (_, i) => tagName(i));
      const home = await mkdtemp(join(tmpdir(), "wharf-bench-resolve-"));
      try {
        let started = performance.now();
        await seedTags(wharf.url, "bench/resolve", tags, { perManifest: 100, multiTag: true });
        log(`  seeded Wharf: ${((performance.now() - started) / 1000).toFixed(1)} s (100 tags per request)`);
        started = performance.now();
        await seedTags(distribution.url, "bench/resolve", tags, { perManifest: 100, concurrency: 16 });
        log(
          `  seeded Distribution: ${((performance.now() - started) / 1000).toFixed(1)} s (one PUT per tag)`,
        );

        const modes: { target: Target; key: "seconds" | "pagedSeconds"; options: ResolveOptions }[] = [
          { target: wharf, key: "seconds", options: { serverSide: true } },
          { target: wharf, key: "pagedSeconds", options: { serverSide: false } },
          { target: distribution, key: "pagedSeconds", options: {} },
        ];
        const once = async (base: string, options: ResolveOptions) => {
          const client = new Client({ env: { HOME: home, DOCKER_CONFIG: home } });
          try {
            const ref = parseReference(`${new URL(base).host}/bench/resolve`);
            if (ref.kind !== "registry") throw new Error("not a registry reference");
            const chosen = await resolveTag(client, ref, POLICY, options);
            if (chosen.tag !== "1.99.9") throw new Error(`${base}: resolved ${chosen.tag}, not 1.99.9`);
            return chosen;
          } finally {
            client.close();
          }
        };

        const result: WorkloadResult = { name, metrics: METRICS, samples: {}, raw: {} };
        const push = (target: string, key: string, value: number) =>
          ((result.samples[target] ??= {})[key] ??= []).push(value);
        for (const mode of modes) {
          const proxy = await startProxy({ target: mode.target.url });
          try {
            await once(proxy.url, mode.options);
            const key = mode.key === "seconds" ? "requests" : "pagedRequests";
            push(mode.target.name, key, proxy.seen.length);
            // Distribution has no endpoint: its paged resolution is what Wharf's endpoint compares with.
            if (mode.target === distribution) push(mode.target.name, "requests", proxy.seen.length);
            log(`  ${mode.target.name} ${key}: ${proxy.seen.length}`);
          } finally {
            await proxy.close();
          }
        }
        for (const mode of modes) await once(mode.target.url, mode.options); // warm-up, untimed
        for (let rep = 0; rep < reps; rep++) {
          const line: string[] = [];
          for (const mode of modes) {
            const start = performance.now();
            await once(mode.target.url, mode.options);
            const seconds = (performance.now() - start) / 1000;
            push(mode.target.name, mode.key, seconds);
            if (mode.target === distribution) push(mode.target.name, "seconds", seconds);
            line.push(`${mode.target.name} ${mode.key}=${seconds.toFixed(3)}`);
          }
          log(`  ${name} rep ${rep + 1}/${reps}: ${line.join(" ")}`);
        }
        const wharfSamples = result.samples.embedded ?? {};
        const endpoint = wharfSamples.seconds ?? [];
        const paged = wharfSamples.pagedSeconds ?? [];
        wharfSamples.endpointVsPaged = endpoint.map((s, i) => s / (paged[i] ?? NaN));
        result.raw = { embedded: [wharfSamples], distribution: [result.samples.distribution] };
        return result;
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    },
  };
}
