/**
 * The servers a run can compare, by the names `--targets` takes. Wharf's rows say how it runs: the
 * embedded defaults with one worker are the README's rows; the others add workers, nodes and backends.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { distributionS3, wharfPostgresS3, type Backend } from "./backends.js";
import { startDistribution, startStatic, startWharf, startWharfNodes, type Target } from "./servers.js";

export const TARGET_NAMES = [
  "embedded",
  "embedded-2w",
  "pg-s3",
  "pg-s3-2n",
  "distribution",
  "distribution-s3",
  "static",
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const TARGET_DESCRIPTIONS: Record<TargetName, string> = {
  embedded: "Wharf, SQLite + files, --workers 1",
  "embedded-2w": "Wharf, SQLite + files, --workers 2",
  "pg-s3": "Wharf, PostgreSQL + S3, one node, --workers 1",
  "pg-s3-2n": "Wharf, PostgreSQL + S3, two nodes (--workers 1 each) behind nginx",
  distribution: "Distribution 2.8.2, filesystem driver",
  "distribution-s3": "Distribution 2.8.2, s3 driver on the same S3 server",
  static: "calibration server (no hashing, no fsync)",
};

/** Parses `--targets a,b`; every target when absent. */
export function parseTargets(values: string[] | undefined): TargetName[] {
  const names = (values ?? [])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  if (names.length === 0) return [...TARGET_NAMES];
  const unknown = names.filter((n) => !(TARGET_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(`unknown target ${unknown.join(", ")}; targets: ${TARGET_NAMES.join(", ")}`);
  }
  return TARGET_NAMES.filter((n) => names.includes(n));
}

/** Starts one target under `scratch`; its stop() also removes its database and bucket prefix. */
export async function startTarget(name: TargetName, scratch: string, profileDir?: string): Promise<Target> {
  const dataDir = join(scratch, name);
  const cpuProfDir = profileDir ? join(profileDir, name) : undefined;
  switch (name) {
    case "embedded":
      return startWharf({ name, dataDir, workers: 1, cpuProfDir });
    case "embedded-2w":
      return startWharf({ name, dataDir, workers: 2, cpuProfDir });
    case "pg-s3":
      return withBackend(await wharfPostgresS3(), async (env) =>
        stateless(await startWharf({ name, dataDir, workers: 1, env, cpuProfDir }), [dataDir]),
      );
    case "pg-s3-2n":
      return withBackend(await wharfPostgresS3(), async (env) =>
        stateless(await startWharfNodes({ name, dataDir, count: 2, env, cpuProfDir }), [
          join(dataDir, "node0"),
          join(dataDir, "node1"),
        ]),
      );
    case "distribution":
      return startDistribution(name, dataDir);
    case "distribution-s3":
      return withBackend(await distributionS3(), (s3) => startDistribution(name, dataDir, s3));
    case "static":
      return startStatic(dataDir);
  }
}

async function withBackend<T>(backend: Backend<T>, start: (settings: T) => Promise<Target>): Promise<Target> {
  let target: Target;
  try {
    target = await start(backend.settings);
  } catch (err) {
    await backend.remove();
    throw err;
  }
  return {
    ...target,
    async stop() {
      await target.stop();
      await backend.remove();
    },
  };
}

/**
 * A row labelled S3 must not measure files: a build whose blob store ignores storage.driver (the
 * filesystem store creates `storage/` in the data directory at start-up) is refused.
 */
async function stateless(target: Target, dataDirs: string[]): Promise<Target> {
  const local = dataDirs.filter((dir) => existsSync(join(dir, "storage")));
  if (local.length > 0) {
    await target.stop();
    throw new Error(`${target.name}: wharf serve keeps blobs in ${local.join(", ")}, not in S3`);
  }
  return target;
}
