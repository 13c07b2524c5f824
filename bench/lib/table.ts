import { median } from "./stats.js";
import { TARGET_NAMES } from "./targets.js";
import { RSS_PROCESS_METRIC, type Metric, type WorkloadResult } from "./workload.js";

export interface Row {
  workload: string;
  metric: string;
  higherIsBetter: boolean;
  informational: boolean;
  /** The summary per target that ran this workload. */
  values: Record<string, number>;
}

/** The peak RSS metrics take the maximum over repetitions; every other metric the median. */
const summarize = (key: string, values: number[] | undefined) =>
  !values || values.length === 0 ? NaN : key.startsWith("rss") ? Math.max(...values) : median(values);

export function rows(results: WorkloadResult[]): Row[] {
  return results
    .filter((r) => !r.samples.machine)
    .flatMap((result) =>
      result.metrics.map((metric: Metric) => ({
        workload: result.name,
        metric: metric.label,
        higherIsBetter: metric.higherIsBetter,
        informational: metric.informational ?? false,
        values: Object.fromEntries(
          Object.keys(result.samples).map((t) => [t, summarize(metric.key, result.samples[t]?.[metric.key])]),
        ),
      })),
    );
}

export function fmt(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "-";
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toString();
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(abs === 0 ? 0 : 2);
}

/** A plain-text table with left-aligned text columns and right-aligned numbers. */
export function renderTable(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const numeric = header.map((_, i) => body.every((r) => /^[-\d.x]*$/.test(r[i] ?? "")));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** A column: one target's value, the ratio of two, or which of two is better. */
type Column =
  | { header: string; target: string }
  | { header: string; ratio: [string, string] }
  | { header: string; better: [string, string]; names: [string, string] };

const ratioOf = (row: Row, [a, b]: [string, string]) => (row.values[a] ?? NaN) / (row.values[b] ?? NaN);

function betterOf(row: Row, [a, b]: [string, string], names: [string, string]): string {
  const x = row.values[a] ?? NaN;
  const y = row.values[b] ?? NaN;
  // A target that did not run this workload (1 GiB blobs skip the slow S3 targets) is not a tie.
  if (row.informational || row.values[a] === undefined || row.values[b] === undefined) return "-";
  if (x === y || !Number.isFinite(x / y)) return "=";
  return (row.higherIsBetter ? x > y : x < y) ? names[0] : names[1];
}

function cell(row: Row, column: Column): string {
  if ("target" in column) return fmt(row.values[column.target]);
  if ("ratio" in column) {
    const r = ratioOf(row, column.ratio);
    return Number.isFinite(r) ? `${r.toFixed(2)}x` : "-";
  }
  return betterOf(row, column.better, column.names);
}

/** The targets a column needs; a column is left out of a run that did not start them all. */
const needs = (c: Column): string[] => ("target" in c ? [c.target] : "ratio" in c ? c.ratio : c.better);

function table(results: WorkloadResult[], columns: Column[], keep: (row: Row) => boolean): string {
  const ran = new Set(results.flatMap((r) => Object.keys(r.samples)));
  const shown = columns.filter((c) => needs(c).every((t) => ran.has(t)));
  const targets = shown.flatMap((c) => ("target" in c ? [c.target] : []));
  const body = rows(results)
    .filter((r) => keep(r) && targets.some((t) => t !== "static" && r.values[t] !== undefined))
    .map((r) => [r.workload, r.metric, ...shown.map((c) => cell(r, c))]);
  if (body.length === 0 || targets.length === 0) return "";
  return renderTable(["Workload", "Metric", ...shown.map((c) => c.header)], body);
}

/** The README's table: Wharf on the embedded defaults with one worker against Distribution on files. */
export function comparisonTable(results: WorkloadResult[]): string {
  return table(
    results,
    [
      { header: "Wharf", target: "embedded" },
      { header: "Distribution", target: "distribution" },
      { header: "Wharf/Dist", ratio: ["embedded", "distribution"] },
      { header: "Better", better: ["embedded", "distribution"], names: ["Wharf", "Distribution"] },
      { header: "Calib (static)", target: "static" },
    ],
    (r) => r.metric !== RSS_PROCESS_METRIC.label,
  );
}

/**
 * Workers, nodes and the S3 store: 2w/1w and 2n/1n >1 on throughput means the second worker or node
 * helps; "Better" compares one Wharf node with Distribution on the same S3 server.
 */
export function scaleOutTable(results: WorkloadResult[]): string {
  const scaleOut = new Set(["embedded-2w", "pg-s3", "pg-s3-2n", "distribution-s3"]);
  return table(
    results,
    [
      { header: "embedded", target: "embedded" },
      { header: "embedded-2w", target: "embedded-2w" },
      { header: "2w/1w", ratio: ["embedded-2w", "embedded"] },
      { header: "pg-s3", target: "pg-s3" },
      { header: "pg-s3-2n", target: "pg-s3-2n" },
      { header: "2n/1n", ratio: ["pg-s3-2n", "pg-s3"] },
      { header: "dist-s3", target: "distribution-s3" },
      { header: "pg-s3/dist-s3", ratio: ["pg-s3", "distribution-s3"] },
      { header: "Better (S3)", better: ["pg-s3", "distribution-s3"], names: ["Wharf", "Distribution"] },
    ],
    (r) => Object.keys(r.values).some((t) => scaleOut.has(t)),
  );
}

/** The machine's limits, and each target's biggest push and pull as fractions of them. */
export function referenceTable(results: WorkloadResult[]): string {
  const reference = results.find((r) => r.samples.machine);
  const value = (key: string) => median(reference?.samples.machine?.[key] ?? []);
  const body = reference ? reference.metrics.map((m) => [reference.name, m.label, fmt(value(m.key))]) : [];
  const bigPush = results.filter((r) => r.name.startsWith("push blob monolithic")).at(-1);
  const bigPull = results.filter((r) => r.name.startsWith("pull blob")).at(-1);
  const of = (result: WorkloadResult, target: string, key: string) =>
    median(result.samples[target]?.[key] ?? []);
  const limit = Math.min(value("sha256"), value("disk") * (1e6 / 1048576));
  if (bigPush && reference) {
    const wharf = of(bigPush, "embedded", "mibs");
    const dist = of(bigPush, "distribution", "mibs");
    body.push([
      bigPush.name,
      "fraction of min(sha256, disk)",
      `${fmt(wharf / limit)} (Dist ${fmt(dist / limit)})`,
    ]);
  }
  // The goal: >= 0.80 of what the calibration server takes from the same client (embedded),
  // per target from the biggest monolithic push it ran.
  const pushes = results.filter((r) => r.name.startsWith("push blob monolithic"));
  for (const t of TARGET_NAMES.filter((n) => n !== "static")) {
    const biggest = pushes.filter((r) => r.samples[t] && r.samples.static).at(-1);
    if (!biggest) continue;
    const ratio = of(biggest, t, "mibs") / of(biggest, "static", "mibs");
    body.push([biggest.name, `${t} / calibration`, fmt(ratio)]);
  }
  if (bigPull && reference) {
    const wharf = of(bigPull, "embedded", "single");
    const dist = of(bigPull, "distribution", "single");
    body.push([
      bigPull.name,
      "1 stream, fraction of loopback",
      `${fmt(wharf / value("loopback"))} (Dist ${fmt(dist / value("loopback"))})`,
    ]);
  }
  return body.length > 0 ? renderTable(["Reference", "Metric", "Value"], body) : "";
}
