import { median } from "./stats.js";
import type { WorkloadResult } from "./workload.js";

export interface Row {
  workload: string;
  metric: string;
  wharf: number;
  distribution: number;
  calibration: number;
  ratio: number;
  better: string;
}

/** The peak RSS metric takes the maximum over repetitions; every other metric the median. */
const summarize = (key: string, values: number[] | undefined) =>
  !values || values.length === 0 ? NaN : key === "rss" ? Math.max(...values) : median(values);

export function rows(results: WorkloadResult[]): Row[] {
  return results
    .filter((r) => !r.samples.machine)
    .flatMap((result) =>
      result.metrics.map((metric) => {
        const [w, d, c] = ["wharf", "distribution", "static"].map((t) =>
          summarize(metric.key, result.samples[t]?.[metric.key]),
        ) as [number, number, number];
        const ratio = w / d;
        const wharfBetter = metric.higherIsBetter ? w > d : w < d;
        const better = metric.informational
          ? "-"
          : w === d || !Number.isFinite(ratio)
            ? "="
            : wharfBetter
              ? "Wharf"
              : "Distribution";
        return {
          workload: result.name,
          metric: metric.label,
          wharf: w,
          distribution: d,
          calibration: c,
          ratio,
          better,
        };
      }),
    );
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return "-";
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

export function comparisonTable(results: WorkloadResult[]): string {
  const body = rows(results).map((r) => [
    r.workload,
    r.metric,
    fmt(r.wharf),
    fmt(r.distribution),
    Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : "-",
    r.better,
    fmt(r.calibration),
  ]);
  return renderTable(
    ["Workload", "Metric", "Wharf", "Distribution", "Wharf/Dist", "Better", "Calib (static)"],
    body,
  );
}

/** The machine's limits, and Wharf's biggest push and pull as fractions of them. */
export function referenceTable(results: WorkloadResult[]): string {
  const reference = results.find((r) => r.samples.machine);
  if (!reference) return "";
  const value = (key: string) => median(reference.samples.machine?.[key] ?? []);
  const body = reference.metrics.map((m) => [reference.name, m.label, fmt(value(m.key))]);
  const pushes = results.filter((r) => r.name.startsWith("push blob monolithic"));
  const pulls = results.filter((r) => r.name.startsWith("pull blob"));
  const bigPush = pushes.at(-1);
  const bigPull = pulls.at(-1);
  const limit = Math.min(value("sha256"), value("disk") * (1e6 / 1048576));
  if (bigPush) {
    const wharf = median(bigPush.samples.wharf?.mibs ?? []);
    const dist = median(bigPush.samples.distribution?.mibs ?? []);
    body.push([
      bigPush.name,
      "fraction of min(sha256, disk)",
      `${fmt(wharf / limit)} (Dist ${fmt(dist / limit)})`,
    ]);
  }
  if (bigPull) {
    const wharf = median(bigPull.samples.wharf?.single ?? []);
    const dist = median(bigPull.samples.distribution?.single ?? []);
    body.push([
      bigPull.name,
      "1 stream, fraction of loopback",
      `${fmt(wharf / value("loopback"))} (Dist ${fmt(dist / value("loopback"))})`,
    ]);
  }
  return renderTable(["Reference", "Metric", "Value"], body);
}
