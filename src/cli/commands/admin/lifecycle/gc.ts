import type { Command } from "commander";
import type { GcProgressDto, GcReportDto } from "../../../../api/gc.js";
import { UsageError, WharfError } from "../../../../client/errors.js";
import { escapeControl, formatBytes, parseDuration, table } from "../../common/format.js";
import { examples, runCommand, type Context } from "../../common/context.js";
import { AdminApi } from "../api.js";
import { targetsDatabase, withAdminTarget, type AdminTargetOptions } from "../target.js";
import { withLocalCollector } from "../../../gc-local.js";

type Options = AdminTargetOptions & { dryRun?: boolean; grace?: string };

/** What a run is asked to do: a dry run or not, and its own grace window if given. */
export interface GcRunOptions {
  dryRun: boolean;
  graceMs?: number;
}

/** How often a running collection is asked how far it got. */
const POLL_MS = 500;

/** Where a run is started and followed: the admin API, or this process on the registry's own database. */
export interface GcTarget {
  /** Where it runs, for messages. */
  where: string;
  start(run: GcRunOptions): Promise<GcReportDto>;
  get(id: string): Promise<GcReportDto>;
}

export function registerGc(program: Command): void {
  const gc = program
    .command("gc")
    .description(
      "Reclaim space: remove what nothing references any more (blobs, links, upload leftovers, referrers " +
        "whose subject is gone, untagged manifests when gc.untagged is on) and report what went",
    )
    .option("--dry-run", "only report what would be removed (nothing is)")
    .option(
      "--grace <duration>",
      "this run's grace window instead of gc.grace (1m, 10m): at least the shorter of gc.grace and 1m, " +
        "since a push in progress needs its blobs for that long",
    );
  // A run over a large store takes as long as it takes; each poll has its own read timeout.
  withAdminTarget(gc, { timeout: "0" });
  examples(gc, [
    "wharf gc --registry registry.example.com            # run now, list what went",
    "wharf gc --dry-run                                  # what a run would remove",
    "wharf gc --json | jq '.bytes'                       # bytes reclaimed",
    "wharf gc --data-dir /var/lib/wharf                  # a registry without accounts",
    "wharf gc --grace 10m                                # what nothing touched for 10 minutes",
    "wharf gc --data-dir /var/lib/wharf --grace 1m       # a quick start's deletions, a minute on",
  ]);
  gc.action(async (options: Options) => {
    await runCommand(options, async (ctx) => {
      const run: GcRunOptions = { dryRun: options.dryRun === true };
      if (options.grace !== undefined) {
        const graceMs = parseDuration(options.grace);
        if (graceMs === undefined) {
          throw new UsageError(`--grace must be a duration such as 1m, 10m or 1h, not ${options.grace}`);
        }
        run.graceMs = graceMs;
      }
      const follow = async (target: GcTarget) => {
        const report = await followRun(ctx, target, run);
        if (ctx.json) ctx.printJson(report);
        else printReport(ctx, report);
      };
      if (targetsDatabase(options)) return withLocalCollector(options, follow);
      const api = AdminApi.for(ctx, options);
      await follow({
        where: api.host,
        start: (request) => api.call<GcReportDto>("POST", "/gc", request),
        get: (id) => api.call<GcReportDto>("GET", `/gc/${encodeURIComponent(id)}`),
      });
    });
  });
}

/** Starts a run and polls it to its end, with a progress line on a terminal; throws when it failed. */
async function followRun(ctx: Context, target: GcTarget, run: GcRunOptions): Promise<GcReportDto> {
  let report = await target.start(run);
  const line = !ctx.json && process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;
  try {
    while (report.status === "running") {
      line?.show(report.progress ?? null);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      report = await target.get(report.id);
    }
  } finally {
    line?.clear();
  }
  if (report.status !== "done") {
    throw new WharfError(
      `the garbage collection on ${target.where} failed: ${report.error ?? "no reason given"}`,
    );
  }
  return report;
}

/** One line on stderr, redrawn in place: the phase, how far it got, what it removed so far. */
class ProgressLine {
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  show(progress: GcProgressDto | null): void {
    if (!progress) return;
    const seen = progress.total === null ? `${progress.done}` : `${progress.done}/${progress.total}`;
    const text = `gc: ${escapeControl(progress.phase)}: ${seen} looked at, ${progress.count} removed (${formatBytes(progress.bytes)})`;
    this.out.write(`\r\x1b[2K${text.slice(0, Math.max(20, (this.out.columns ?? 80) - 1))}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.out.write("\r\x1b[2K");
  }
}

function printReport(ctx: Context, report: GcReportDto): void {
  if (report.items.length > 0) {
    ctx.print(
      table([
        ["KIND", "REPOSITORY", "DIGEST", "BYTES", "REASON"],
        ...report.items.map((item) => [
          item.kind,
          escapeControl(item.repository ?? "-"),
          escapeControl(item.digest ?? item.id ?? "-"),
          String(item.bytes),
          escapeControl(item.reason),
        ]),
      ]),
    );
  }
  if (report.truncated)
    ctx.note(`(only the first ${report.items.length} of ${report.count} items are listed)`);
  const verb = report.dryRun ? "would remove" : "removed";
  const reclaimed = report.dryRun ? "would reclaim" : "reclaimed";
  const phases = report.phases.map((p) => `${p.phase} ${p.count}`).join(", ");
  ctx.print(
    `${report.dryRun ? "Dry run: " : ""}${verb} ${report.count} items (${phases}); ` +
      `${reclaimed} ${report.bytes} bytes (${formatBytes(report.bytes)})`,
  );
  const skipped = report.phases.reduce((sum, p) => sum + p.skipped, 0);
  if (skipped > 0) ctx.note(`${skipped} candidates were kept: something used them while the collection ran`);
}
