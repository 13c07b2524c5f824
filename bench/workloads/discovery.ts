import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, SqliteDialect, type CompiledQuery } from "kysely";
import { openSqlite, type Db } from "../../src/metadata/database.js";
import type { Database } from "../../src/metadata/schema.js";
import { insertManifest } from "../../src/metadata/manifests.js";
import { setTag } from "../../src/metadata/tags.js";
import { listTopLevel, repositoriesWithKind, upsertArtifact } from "../../src/metadata/artifacts.js";
import {
  replaceFactTerms,
  repositoriesMatching,
  searchArtifacts,
  setTagTerms,
} from "../../src/metadata/search-terms.js";
import { annotationFilterTerm, termsFor } from "../../src/registry/search-index.js";
import { startWharf, type Target } from "../lib/servers.js";
import { percentile } from "../lib/stats.js";
import type { Options, Runnable, WorkloadResult } from "../lib/workload.js";

const NAMESPACES = [
  "platform",
  "payments",
  "data",
  "ml",
  "edge",
  "infra",
  "web",
  "mobile",
  "security",
  "tools",
];
const WORDS = (
  "alpha billing cache gateway ledger search queue stream report audit vault mesh proxy ingest " +
  "notify render export import scheduler worker indexer crawler metrics tracing portal catalog " +
  "checkout invoice pricing fraud identity session storage backup restore archive router broker"
).split(" ");
const PER_REPOSITORY = 100;

/** A deterministic pseudo-random sequence, so every run seeds the same registry. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Seeded {
  repositories: string[];
  /** A repository and a digest in it, for the detail view. */
  sample: { repository: string; digest: string };
}

/** Seeds `count` artifacts through the metadata layer (untimed): manifests, tags, facts and terms. */
export async function seed(db: Db, count: number, log: (line: string) => void): Promise<Seeded> {
  const random = rng(42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const repositories: string[] = [];
  let sample = { repository: "", digest: "" };
  const started = Date.now();
  for (let r = 0; r * PER_REPOSITORY < count; r++) {
    const repository = `${NAMESPACES[r % NAMESPACES.length]}/${pick(WORDS)}-${pick(WORDS)}-${r}`;
    repositories.push(repository);
    await db.transaction().execute(async (trx) => {
      let previous: string | null = null;
      for (let i = 0; i < PER_REPOSITORY && r * PER_REPOSITORY + i < count; i++) {
        const roll = random();
        const kind =
          roll < 0.7
            ? "oci-image"
            : roll < 0.85
              ? "helm-chart"
              : roll < 0.95
                ? "spdx-sbom"
                : "opentofu-module";
        const accessory = kind === "spdx-sbom" && previous !== null;
        const title = `${pick(WORDS)} ${pick(WORDS)} ${kind === "helm-chart" ? "chart" : "service"}`;
        const description = `The ${pick(WORDS)} component for ${pick(WORDS)} and ${pick(WORDS)}.`;
        const annotations = {
          "org.opencontainers.image.title": title,
          "org.opencontainers.image.description": description,
          "com.example.team": pick(NAMESPACES),
        };
        const content = Buffer.from(JSON.stringify({ schemaVersion: 2, r, i, annotations }));
        const digest = `sha256:${createHash("sha256").update(content).digest("hex")}`;
        await insertManifest(trx, {
          repository,
          digest,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          artifactType: null,
          subjectDigest: accessory ? previous : null,
          annotations,
          content,
          references: [],
        });
        const tags = accessory ? [] : [`v${i}`];
        for (const tag of tags) await setTag(trx, repository, tag, digest);
        const facts = { title, description, kindTitle: kind };
        await upsertArtifact(trx, {
          repository,
          digest,
          kind,
          kindTitle: kind,
          accessory,
          refersTo: accessory ? previous : null,
          topLevel: !accessory,
          title,
          description,
          version: `1.${i}.0`,
          size: 1000 + i,
          layerCount: 1,
          platforms: kind === "oci-image" ? ["linux/amd64"] : [],
          facts: JSON.stringify({ kind, kindTitle: kind, title, description, platforms: [], size: 1000 + i }),
          pushedAt: new Date(Date.UTC(2026, 0, 1) + r * PER_REPOSITORY + i).toISOString(),
        });
        await replaceFactTerms(trx, repository, digest, termsFor(repository, facts, annotations));
        await setTagTerms(trx, repository, digest, tags);
        if (!accessory) previous = digest;
        if (r === 7 && i === 3) sample = { repository, digest };
      }
    });
    if (r % 100 === 99)
      log(`  seeded ${(r + 1) * PER_REPOSITORY} artifacts (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  return { repositories, sample };
}

/** EXPLAIN QUERY PLAN of the queries the API runs, captured through Kysely's log hook. */
async function queryPlans(path: string, repositories: string[]): Promise<Record<string, string[]>> {
  const sqlite = new SqliteDatabase(path, { readonly: true });
  const captured: CompiledQuery[] = [];
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: sqlite }),
    log: (event) => {
      if (event.level === "query") captured.push(event.query);
    },
  });
  const plans: Record<string, string[]> = {};
  const explain = async (name: string, run: () => Promise<unknown>) => {
    captured.length = 0;
    await run();
    const query = captured[0];
    if (!query) return;
    const rows = sqlite
      .prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
      .all(...(query.parameters as unknown[])) as { detail: string }[];
    plans[name] = rows.map((r) => r.detail);
  };
  await explain("search q", () => searchArtifacts(db, { prefix: "billing", annotations: [], limit: 101 }));
  await explain("search q + kind + annotation", () =>
    searchArtifacts(db, {
      prefix: "gate",
      kind: "helm-chart",
      annotations: [annotationFilterTerm("com.example.team", "data")],
      limit: 101,
    }),
  );
  await explain("search annotation only", () =>
    searchArtifacts(db, {
      prefix: null,
      annotations: [annotationFilterTerm("com.example.team", "ml")],
      limit: 101,
    }),
  );
  await explain("repositories q", () => repositoriesMatching(db, "pay", undefined, undefined, 101));
  await explain("repositories kind", () => repositoriesWithKind(db, "helm-chart", undefined, 101));
  await explain("artifacts of a repository", () =>
    listTopLevel(db, repositories[3]!, { limit: 101, kind: undefined, last: undefined }),
  );
  await db.destroy();
  return plans;
}

async function timeRequests(target: Target, paths: string[], rounds: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const path of paths) {
      const started = performance.now();
      const res = await fetch(target.url + path);
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
    }
  }
  return latencies;
}

/**
 * Search and listing latency of the discovery API over 100,000 artifacts (10,000 with --quick) in 1,000
 * repositories, seeded untimed through the metadata layer. Wharf only: Distribution has no such API.
 */
export function discoveryWorkload({ quick, scratch }: Options): Runnable {
  const count = quick ? 10_000 : 100_000;
  const name = `discovery over ${count} artifacts`;
  const metrics = [
    { key: "searchP50", label: "search p50 ms", higherIsBetter: false },
    { key: "searchP99", label: "search p99 ms", higherIsBetter: false },
    { key: "listP50", label: "listing p50 ms", higherIsBetter: false },
    { key: "listP99", label: "listing p99 ms", higherIsBetter: false },
  ];
  return {
    name,
    async run(_targets, log) {
      const dataDir = join(scratch, "wharf-discovery");
      await mkdir(dataDir, { recursive: true });
      const db = await openSqlite(join(dataDir, "metadata.db"));
      let seeded: Seeded;
      try {
        seeded = await seed(db, count, log);
      } finally {
        await db.destroy();
      }
      const plans = await queryPlans(join(dataDir, "metadata.db"), seeded.repositories);
      for (const [query, plan] of Object.entries(plans)) log(`  plan ${query}: ${plan.join(" | ")}`);

      const target = await startWharf({ name: "embedded", dataDir, workers: 1 });
      const { repositories, sample } = seeded;
      const searches = [
        `/api/v1/search?q=${encodeURIComponent(repositories[5]!)}`,
        "/api/v1/search?q=billing",
        "/api/v1/search?q=inv",
        "/api/v1/search?q=payments",
        "/api/v1/search?q=gateway&kind=helm-chart",
        `/api/v1/search?q=cache&annotation=${encodeURIComponent("com.example.team=data")}`,
        `/api/v1/search?annotation=${encodeURIComponent("com.example.team=ml")}`,
        "/api/v1/search?q=v42",
      ];
      const listings = [
        "/api/v1/repositories",
        `/api/v1/repositories?last=${encodeURIComponent(repositories[Math.floor(repositories.length / 2)]!)}`,
        "/api/v1/repositories?kind=opentofu-module",
        "/api/v1/repositories?q=pay",
        `/api/v1/repositories/${repositories[3]}/artifacts`,
        `/api/v1/repositories/${repositories[Math.floor(repositories.length * 0.7)]}/artifacts?kind=helm-chart`,
        `/api/v1/artifacts/${sample.repository}@${sample.digest}`,
      ];
      const result: WorkloadResult = { name, metrics, samples: { embedded: {} }, raw: { embedded: [] } };
      try {
        await timeRequests(target, [...searches, ...listings], 1); // warm-up, untimed
        const reps = quick ? 2 : 3;
        for (let rep = 0; rep < reps; rep++) {
          const search = await timeRequests(target, searches, 10);
          const list = await timeRequests(target, listings, 10);
          const values = {
            searchP50: percentile(search, 50),
            searchP99: percentile(search, 99),
            listP50: percentile(list, 50),
            listP99: percentile(list, 99),
          };
          const samples = result.samples.embedded!;
          for (const [key, value] of Object.entries(values)) (samples[key] ??= []).push(value);
          result.raw.embedded!.push({ values, plans });
          log(
            `  ${name} rep ${rep + 1}/${reps}: ${Object.entries(values)
              .map(([k, v]) => `${k}=${v.toFixed(1)}`)
              .join(" ")}`,
          );
        }
      } finally {
        await target.stop();
      }
      return result;
    },
  };
}
