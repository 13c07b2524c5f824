/**
 * The load generator: one process per measurement, spawned by bench/run.ts with a JSON spec as argv[2];
 * prints one JSON result line. Timing happens here, after any untimed preparation.
 */
import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { percentile } from "../lib/stats.js";
import { blobChunks, blobDigest, sha256 } from "./content.js";
import { pool, request } from "./http.js";
import * as reg from "./registry.js";
import { runMixed, type MixedSpec } from "./mixed.js";

export type Spec =
  /** `maxSeconds`: no new blob or manifest after that long, so a slow target bounds the run's length. */
  | { op: "push"; base: string; repo: string; size: number; seed: string; count: number; maxSeconds?: number }
  | { op: "pushChunked"; base: string; repo: string; size: number; seed: string; chunk: number }
  | { op: "pull"; base: string; repo: string; digest: string; streams: number; iterations: number }
  | { op: "seedImage"; base: string; repo: string; tags: string[]; layerSizes: number[]; seed: string }
  | { op: "seedRepos"; base: string; prefix: string; count: number; concurrency: number; seed: string }
  | {
      op: "manifestPut";
      base: string;
      repo: string;
      count: number;
      concurrency: number;
      seed: string;
      maxSeconds?: number;
    }
  | { op: "list"; base: string; path: string; field: "tags" | "repositories" }
  | { op: "requests"; url: string; method: string; accept: string; connections: number; seconds: number }
  | ({ op: "mixed" } & MixedSpec)
  | { op: "sha256"; bytes: number }
  | { op: "disk"; dir: string; bytes: number };

export type Result = Record<string, number | string>;

const now = () => performance.now();
const seconds = (start: number) => (now() - start) / 1000;

async function run(spec: Spec): Promise<Result> {
  switch (spec.op) {
    case "push": {
      const seeds = Array.from({ length: spec.count }, (_, i) => `${spec.seed}/${i}`);
      const digests = seeds.map((seed) => blobDigest(spec.size, seed));
      const start = now();
      let pushed = 0;
      for (const [i, seed] of seeds.entries()) {
        if (spec.maxSeconds !== undefined && seconds(start) > spec.maxSeconds) break;
        pushed++;
        await reg.pushBlob(
          spec.base,
          spec.repo,
          () => blobChunks(spec.size, seed),
          spec.size,
          digests[i] ?? "",
        );
      }
      return { seconds: seconds(start), bytes: spec.size * pushed, digest: digests[0] ?? "" };
    }
    case "pushChunked": {
      const start = now();
      await reg.pushChunked(spec.base, spec.repo, spec.size, spec.seed, spec.chunk);
      return { seconds: seconds(start), bytes: spec.size };
    }
    case "pull": {
      const start = now();
      let bytes = 0;
      await pool(spec.streams, spec.streams * spec.iterations, async () => {
        const received = await reg.pullBlob(spec.base, spec.repo, spec.digest);
        bytes += received; // not `bytes += await`: that reads `bytes` before the await and loses updates
      });
      return { seconds: seconds(start), bytes };
    }
    case "seedImage": {
      const [first, ...rest] = spec.tags;
      const image = await reg.pushImage(spec.base, spec.repo, first ?? "latest", spec.layerSizes, spec.seed);
      const start = now();
      await pool(16, rest.length, (i) =>
        reg.putManifest(spec.base, spec.repo, rest[i] ?? "", image.manifest),
      );
      return { seconds: seconds(start), manifestDigest: sha256(image.manifest) };
    }
    case "seedRepos": {
      const start = now();
      await pool(spec.concurrency, spec.count, async (i) => {
        await reg.pushImage(spec.base, `${spec.prefix}${i}`, "latest", [1024], `${spec.seed}/${i}`);
      });
      return { seconds: seconds(start) };
    }
    case "manifestPut": {
      const image = await reg.pushImage(spec.base, spec.repo, "base", [4096], spec.seed);
      const latencies: number[] = [];
      const start = now();
      const deadline = spec.maxSeconds === undefined ? Infinity : start + spec.maxSeconds * 1000;
      await pool(spec.concurrency, spec.count, async (i) => {
        if (now() > deadline) return;
        const body = reg.imageManifest(image.config, image.layers, `${spec.seed}/${i}`);
        const t = now();
        await reg.putManifest(spec.base, spec.repo, `t${i}`, body);
        latencies.push(now() - t);
      });
      const elapsed = seconds(start);
      return {
        seconds: elapsed,
        rate: latencies.length / elapsed,
        count: latencies.length,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
      };
    }
    case "list": {
      const start = now();
      const { items, pages } = await reg.listAll(spec.base, spec.path, spec.field);
      return { seconds: seconds(start), items, pages };
    }
    case "requests":
      return runRequests(spec);
    case "mixed":
      return runMixed(spec);
    case "sha256": {
      const hash = createHash("sha256");
      const start = now();
      for (const chunk of blobChunks(spec.bytes, "sha")) hash.update(chunk);
      hash.digest();
      return { seconds: seconds(start), bytes: spec.bytes };
    }
    case "disk": {
      const path = join(spec.dir, "disk-reference.bin");
      const file = await open(path, "w");
      const start = now();
      for (const chunk of blobChunks(spec.bytes, "disk")) await file.write(chunk);
      await file.sync();
      const elapsed = seconds(start);
      await file.close();
      await rm(path);
      return { seconds: elapsed, bytes: spec.bytes };
    }
  }
}

/**
 * Closed-loop load for what wrk cannot do: wrk's parser waits for a body after HEAD responses that
 * carry a Content-Length, so HEAD goes through node:http here (calibrated on the static server).
 */
async function runRequests(spec: Extract<Spec, { op: "requests" }>): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = now() + spec.seconds * 1000;
  const start = now();
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      while (now() < deadline) {
        const t = now();
        try {
          const res = await request(spec.method, spec.url, { headers: { Accept: spec.accept } });
          if (res.status !== 200) errors++;
        } catch {
          errors++;
        }
        latencies.push(now() - t);
      }
    }),
  );
  const elapsed = seconds(start);
  return {
    rate: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Spec;
run(spec).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
