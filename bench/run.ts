/**
 * Wharf and CNCF Distribution side by side: `node --import tsx bench/run.ts [--quick] [--only name]
 * [--targets a,b] [--profile]`. Prints the tables and writes raw results to bench/results/<timestamp>.json.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, type Target } from "./lib/servers.js";
import { comparisonTable, referenceTable, rows, scaleOutTable } from "./lib/table.js";
import { parseTargets, startTarget, TARGET_DESCRIPTIONS } from "./lib/targets.js";
import type { Options, Runnable, WorkloadResult } from "./lib/workload.js";
import { blobWorkloads } from "./workloads/blobs.js";
import { listingWorkloads } from "./workloads/listings.js";
import { manifestWorkloads } from "./workloads/manifests.js";
import { mixedWorkloads } from "./workloads/mixed.js";
import { referenceWorkload } from "./workloads/reference.js";
import { discoveryWorkload } from "./workloads/discovery.js";
import { resolveWorkload } from "./workloads/resolve.js";
import { gcWorkload } from "./workloads/gc.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", multiple: true },
    targets: { type: "string", multiple: true },
    profile: { type: "boolean", default: false },
    out: { type: "string" },
  },
});

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  // Under the OS temp dir: one filesystem for every server's data dir and the disk reference.
  const scratch = await mkdtemp(join(tmpdir(), "wharf-bench-"));
  const options: Options = { quick: args.quick ?? false, scratch };
  const resultsDir = join(ROOT, "bench/results");
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const profileDir = args.profile ? join(resultsDir, `profile-${stamp}`) : undefined;
  const all: Runnable[] = [
    referenceWorkload(options),
    ...blobWorkloads(options),
    ...manifestWorkloads(options),
    ...listingWorkloads(options),
    ...mixedWorkloads(options),
    discoveryWorkload(options),
    resolveWorkload(options),
    gcWorkload(options),
  ];
  const only = args.only ?? [];
  const names = parseTargets(args.targets);
  // The reference workload measures the machine through the static server; discovery starts its own
  // embedded server over a seeded database, as does garbage collection.
  const needs = (w: Runnable): string[] =>
    w.name === "reference"
      ? ["static"]
      : w.name.startsWith("discovery") || w.name.startsWith("gc ")
        ? ["embedded"]
        : w.name.startsWith("resolve")
          ? ["embedded", "distribution"]
          : [];
  const selected = all.filter(
    (w) =>
      (only.length === 0 || only.some((o) => w.name.includes(o))) &&
      needs(w).every((need) => names.some((n) => n === need)),
  );
  if (selected.length === 0)
    throw new Error(`no workload matches ${only.join(", ")}: ${all.map((w) => w.name).join("; ")}`);

  const targets: Target[] = [];
  const started = Date.now();
  const results: WorkloadResult[] = [];
  const failed: string[] = [];
  /** Minutes per workload, so a run that grows too long shows where the time went. */
  const minutes: Record<string, number> = {};
  await mkdir(resultsDir, { recursive: true });
  const base = join(resultsDir, args.out ?? stamp);
  const save = (path: string) =>
    writeFile(
      path,
      `${JSON.stringify({ options: { quick: options.quick, only, targets: names }, minutes, failed, results, rows: rows(results) }, null, 2)}\n`,
    );
  try {
    for (const name of names) {
      log(`starting ${name}: ${TARGET_DESCRIPTIONS[name]}`);
      targets.push(await startTarget(name, scratch, profileDir));
    }
    log(
      `scratch ${scratch}; ${cpus().length} cpus; ${selected.length} workloads${options.quick ? " (quick)" : ""}`,
    );
    for (const w of selected) {
      log(`${w.name}`);
      const begun = Date.now();
      try {
        results.push(await w.run(targets, log));
      } catch (err) {
        // One broken workload (a target refusing a request) must not throw away an hour of results.
        failed.push(`${w.name}: ${err instanceof Error ? err.message : String(err)}`);
        log(`  FAILED ${failed.at(-1)}`);
      }
      minutes[w.name] = (Date.now() - begun) / 60000;
      // What finished so far survives an interrupted run.
      await save(`${base}.partial.json`);
    }
  } finally {
    for (const t of targets) {
      // One target failing to stop (or to drop its database) must not leave the others running.
      await t.stop().catch((err: unknown) => log(`stopping ${t.name}: ${String(err)}`));
    }
    await rm(scratch, { recursive: true, force: true });
  }

  const output = [
    `Wharf vs CNCF Distribution 2.8 (${options.quick ? "quick" : "full"}), ${new Date().toISOString()}, ` +
      `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, ${((Date.now() - started) / 60000).toFixed(1)} min`,
    "Throughput ratio >1: Wharf faster. Latency/RSS/seconds ratio <1: Wharf better. Medians over interleaved repetitions.",
    `Targets: ${names.map((n) => `${n} (${TARGET_DESCRIPTIONS[n]})`).join("; ")}.`,
    "",
    comparisonTable(results),
    "",
    scaleOutTable(results),
    "",
    referenceTable(results),
    "",
    ...failed.map((f) => `FAILED ${f}`),
  ]
    .join("\n")
    .replace(/\n{3,}/g, "\n\n");
  process.stdout.write(output);
  await save(`${base}.json`);
  await rm(`${base}.partial.json`, { force: true });
  if (args.out) await writeFile(`${base}.txt`, output);
  log(`wrote ${base}.json${profileDir ? `; profiles in ${profileDir}` : ""}`);
  if (failed.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
