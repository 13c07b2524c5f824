import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Db } from "../../metadata/database.js";
import { acquireLease, releaseLease, renewLease } from "../../metadata/leases.js";
import {
  MAX_REPORTED_ITEMS,
  type GcOptions,
  type GcReport,
  type PhaseReport,
  type RemovedItem,
  type SweepContext,
  type SweepPhase,
} from "./types.js";

/** The lease that keeps sweeps to one node at a time. */
const GC_LEASE = "gc";
const LEASE_MS = 60_000;

export interface RunRequest {
  dryRun: boolean;
  trigger: "schedule" | "manual";
  actor: string;
}

/** Another node (or process) is sweeping now. */
export class GcBusyError extends Error {}

/**
 * Runs the phases in order under the `gc` lease (one sweep at a time across every node), on a schedule
 * and on demand. SKELETON on main: the GC-operations engineer completes it (runs recorded in gc_runs,
 * audit, progress, the scheduled retention pass).
 */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly db: Db,
    private readonly phases: readonly SweepPhase[],
    readonly options: GcOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.run({ dryRun: false, trigger: "schedule", actor: "schedule" })
        .catch((err: unknown) => {
          if (!(err instanceof GcBusyError)) this.log.error({ err }, "garbage collection failed");
        })
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort(new Error("the node is stopping"));
    await this.running;
  }

  async run(request: RunRequest): Promise<GcReport> {
    const holder = randomUUID();
    if (!(await acquireLease(this.db, GC_LEASE, holder, new Date(Date.now() + LEASE_MS)))) {
      throw new GcBusyError("a garbage collection is running already (on this or another node)");
    }
    const abort = new AbortController();
    const onStop = () => abort.abort(this.stopping.signal.reason);
    this.stopping.signal.addEventListener("abort", onStop, { once: true });
    const renewal = setInterval(() => {
      renewLease(this.db, GC_LEASE, holder, new Date(Date.now() + LEASE_MS)).then(
        (held) => (held ? undefined : abort.abort(new Error("the garbage collection lease was lost"))),
        () => undefined,
      );
    }, LEASE_MS / 4);
    renewal.unref();
    const started = new Date();
    const report: GcReport = {
      id: holder,
      trigger: request.trigger,
      dryRun: request.dryRun,
      actor: request.actor,
      status: "running",
      startedAt: started.toISOString(),
      finishedAt: null,
      graceMs: this.options.graceMs,
      cutoff: new Date(started.getTime() - this.options.graceMs).toISOString(),
      phases: [],
      count: 0,
      bytes: 0,
      items: [],
      truncated: false,
    };
    const planned = { manifests: new Set<string>(), links: new Set<string>() };
    try {
      for (const phase of this.phases) {
        const ctx: SweepContext = {
          dryRun: request.dryRun,
          cutoff: new Date(report.cutoff),
          planned,
          removed: (item: RemovedItem) => {
            if (report.items.length < MAX_REPORTED_ITEMS) report.items.push(item);
            else report.truncated = true;
          },
          progress: () => undefined,
          signal: abort.signal,
        };
        const result = await phase.run(ctx);
        const phaseReport: PhaseReport = { phase: phase.name, ...result };
        report.phases.push(phaseReport);
        report.count += result.count;
        report.bytes += result.bytes;
        abort.signal.throwIfAborted();
      }
      report.status = "done";
    } catch (err) {
      report.status = "failed";
      report.error = err instanceof Error ? err.message : String(err);
      throw err;
    } finally {
      report.finishedAt = new Date().toISOString();
      clearInterval(renewal);
      this.stopping.signal.removeEventListener("abort", onStop);
      await releaseLease(this.db, GC_LEASE, holder).catch(() => undefined);
    }
    return report;
  }
}
