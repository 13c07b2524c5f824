import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Db } from "../../metadata/database.js";
import { acquireLease, leaseHolder, releaseLease, renewLease } from "../../metadata/leases.js";
import {
  failAbandonedGcRuns,
  finishGcRun,
  findGcRun,
  insertGcRun,
  pruneGcRuns,
  recentGcRuns,
  updateGcRunProgress,
  type GcRunRow,
} from "../../metadata/gc-runs.js";
import type { AuditLog } from "../audit.js";
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
/** Progress is written to the run's row at most this often (any node's API shows it from there). */
const PROGRESS_MS = 1000;
const INTERRUPTED = "interrupted: the node running it stopped";
/** Finished runs kept in gc_runs. */
export const KEPT_RUNS = 100;

export interface RunRequest {
  dryRun: boolean;
  trigger: "schedule" | "manual";
  /** Who asked: the administrator's name, `local` for the CLI on the registry's machine, or `schedule`. */
  actor: string;
  /** Where from, for the audit log (an address, `cli`, `wharf`). */
  client?: string;
}

/** Another node (or process) is sweeping now. */
export class GcBusyError extends Error {
  constructor(
    message: string,
    /** The run in progress, when its record could be read. */
    readonly running?: { id: string; actor: string; startedAt: string; dryRun: boolean },
  ) {
    super(message);
  }
}

/** The retention pass a scheduled run makes first (see RetentionService). */
export interface ScheduledRetention {
  applyAll(actor: string): Promise<void>;
}

/** A run started by begin(): its id at once, its report when it ends. */
export interface StartedRun {
  id: string;
  report: GcReport;
  finished: Promise<GcReport>;
}

/**
 * Runs the phases in order under the `gc` lease (one sweep at a time across every node), on a schedule
 * and on demand. Each run is recorded in gc_runs (its progress while it runs, its report once done, the
 * last KEPT_RUNS kept), audited as `gc.run`, and stopped when the node stops or the lease is lost. A
 * scheduled run applies the retention policies first, so the tags they remove are collected at once.
 */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private readonly runs = new Set<Promise<unknown>>();
  private scheduled: Promise<unknown> | undefined;
  private readonly stopping = new AbortController();
  private audit: AuditLog | undefined;

  constructor(
    private readonly db: Db,
    private readonly phases: readonly SweepPhase[],
    readonly options: GcOptions,
    private readonly log: Logger,
    private readonly retention?: ScheduledRetention,
  ) {}

  auditWith(audit: AuditLog): void {
    this.audit = audit;
  }

  start(): void {
    if (this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.scheduled) return;
      this.scheduled = this.run({ dryRun: false, trigger: "schedule", actor: "schedule", client: "wharf" })
        .catch((err: unknown) => {
          if (!(err instanceof GcBusyError)) this.log.error({ err }, "garbage collection failed");
        })
        .finally(() => (this.scheduled = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the schedule, aborts the runs in progress and waits for them to record their end. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort(new Error("the node is stopping"));
    await Promise.allSettled([...this.runs]);
  }

  /** Runs a collection to its end. */
  async run(request: RunRequest): Promise<GcReport> {
    return (await this.begin(request)).finished;
  }

  /**
   * Takes the lease and records the run, then runs it in the background: the caller gets its id at once.
   * GcBusyError (naming the run in progress) when another run holds the lease.
   */
  async begin(request: RunRequest): Promise<StartedRun> {
    this.stopping.signal.throwIfAborted();
    const id = randomUUID();
    if (!(await acquireLease(this.db, GC_LEASE, id, new Date(Date.now() + LEASE_MS)))) {
      throw await this.busy();
    }
    const started = new Date();
    const report: GcReport = {
      id,
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
      progress: null,
    };
    try {
      await failAbandonedGcRuns(this.db, id, INTERRUPTED);
      await insertGcRun(this.db, { ...report, report: JSON.stringify(summary(report)) });
    } catch (err) {
      await releaseLease(this.db, GC_LEASE, id).catch(() => undefined);
      throw err;
    }
    const finished = this.execute(request, report);
    this.runs.add(finished);
    void finished.then(
      () => this.runs.delete(finished),
      () => this.runs.delete(finished),
    );
    // The caller may not wait (the API answers 202): its failure is in the run's record and the log.
    finished.catch(() => undefined);
    return { id, report, finished };
  }

  /** The run with this id (its progress while it runs), or null. */
  async get(id: string): Promise<GcReport | null> {
    const row = await findGcRun(this.db, id);
    return row ? await this.reportOf(row, true) : null;
  }

  /** The most recent runs first, without their item lists. */
  async list(limit: number): Promise<GcReport[]> {
    const rows = await recentGcRuns(this.db, Math.min(Math.max(limit, 1), KEPT_RUNS));
    return Promise.all(rows.map((row) => this.reportOf(row, false)));
  }

  private async execute(request: RunRequest, report: GcReport): Promise<GcReport> {
    const { id } = report;
    const abort = new AbortController();
    const onStop = () => abort.abort(this.stopping.signal.reason);
    this.stopping.signal.addEventListener("abort", onStop, { once: true });
    const renewal = setInterval(() => {
      renewLease(this.db, GC_LEASE, id, new Date(Date.now() + LEASE_MS)).then(
        (held) => (held ? undefined : abort.abort(new Error("the garbage collection lease was lost"))),
        () => undefined,
      );
    }, LEASE_MS / 4);
    renewal.unref();
    let lastWrite = 0;
    const writeProgress = (force: boolean) => {
      if (!force && Date.now() - lastWrite < PROGRESS_MS) return;
      lastWrite = Date.now();
      updateGcRunProgress(this.db, id, JSON.stringify(summary(report))).catch((err: unknown) =>
        this.log.debug({ err }, "recording garbage collection progress failed"),
      );
    };
    const planned = { manifests: new Set<string>(), links: new Set<string>() };
    try {
      // Let the caller (the API's 202) go first: the run is recorded, the work starts next tick.
      await new Promise((resolve) => setImmediate(resolve));
      if (request.trigger === "schedule" && this.retention) await this.applyRetention();
      for (const phase of this.phases) {
        abort.signal.throwIfAborted();
        const current = { phase: phase.name, done: 0, total: null as number | null, count: 0, bytes: 0 };
        report.progress = current;
        writeProgress(true);
        const ctx: SweepContext = {
          dryRun: request.dryRun,
          cutoff: new Date(report.cutoff),
          planned,
          removed: (item: RemovedItem) => {
            current.count++;
            current.bytes += item.bytes;
            if (report.items.length < MAX_REPORTED_ITEMS) report.items.push(item);
            else report.truncated = true;
            writeProgress(false);
          },
          progress: (done, total) => {
            current.done = done;
            if (total !== undefined) current.total = total;
            writeProgress(false);
          },
          signal: abort.signal,
        };
        const result = await phase.run(ctx);
        const phaseReport: PhaseReport = { phase: phase.name, ...result };
        report.phases.push(phaseReport);
        report.count += result.count;
        report.bytes += result.bytes;
      }
      abort.signal.throwIfAborted();
      report.status = "done";
    } catch (err) {
      report.status = "failed";
      report.error = err instanceof Error ? err.message : String(err);
      this.log.error({ err, run: id }, "garbage collection failed");
    } finally {
      clearInterval(renewal);
      this.stopping.signal.removeEventListener("abort", onStop);
    }
    report.finishedAt = new Date().toISOString();
    report.progress = null;
    await this.record(request, report);
    if (report.status === "failed") throw new Error(report.error);
    return report;
  }

  /** The run's end in gc_runs and the audit log; then the lease goes and old runs are pruned. */
  private async record(request: RunRequest, report: GcReport): Promise<void> {
    try {
      await finishGcRun(this.db, report.id, {
        status: report.status === "done" ? "done" : "failed",
        finishedAt: report.finishedAt ?? new Date().toISOString(),
        report: JSON.stringify(report),
        error: report.error ?? null,
      });
      await pruneGcRuns(this.db, KEPT_RUNS);
    } catch (err) {
      this.log.error({ err, run: report.id }, "recording the garbage collection's end failed");
    } finally {
      await releaseLease(this.db, GC_LEASE, report.id).catch(() => undefined);
    }
    this.log.info(
      {
        run: report.id,
        dryRun: report.dryRun,
        status: report.status,
        count: report.count,
        bytes: report.bytes,
      },
      report.dryRun ? "garbage collection dry run finished" : "garbage collection finished",
    );
    await this.audit?.record({
      actor: request.actor,
      client: request.client ?? "wharf",
      action: "gc.run",
      target: report.id,
      outcome: report.status === "done" ? "ok" : "failed",
      detail: {
        dryRun: report.dryRun,
        trigger: report.trigger,
        count: report.count,
        bytes: report.bytes,
        phases: Object.fromEntries(report.phases.map((p) => [p.phase, { count: p.count, bytes: p.bytes }])),
        ...(report.error ? { error: report.error } : {}),
      },
    });
  }

  private async applyRetention(): Promise<void> {
    try {
      await this.retention?.applyAll("schedule");
    } catch (err) {
      // The collection still runs: what retention did not untag is simply not collected this time.
      this.log.error({ err }, "the scheduled retention pass failed");
    }
  }

  private async busy(): Promise<GcBusyError> {
    const lease = await leaseHolder(this.db, GC_LEASE).catch(() => null);
    const row = lease ? await findGcRun(this.db, lease.holder).catch(() => null) : null;
    if (!row) return new GcBusyError("a garbage collection is running already (on this or another node)");
    const what = row.dryRun ? "a dry run" : "a garbage collection";
    return new GcBusyError(`${what} started by ${row.actor} at ${row.startedAt} is running (run ${row.id})`, {
      id: row.id,
      actor: row.actor,
      startedAt: row.startedAt,
      dryRun: row.dryRun,
    });
  }

  /** A row as a report; a run still marked running whose lease is gone was cut short (a crash). */
  private async reportOf(row: GcRunRow, withItems: boolean): Promise<GcReport> {
    let report: GcReport;
    try {
      report = JSON.parse(row.report ?? "null") as GcReport;
    } catch {
      report = null as unknown as GcReport;
    }
    report = {
      ...(report ?? {
        graceMs: this.options.graceMs,
        cutoff: row.startedAt,
        phases: [],
        count: 0,
        bytes: 0,
        items: [],
        truncated: false,
      }),
      id: row.id,
      trigger: row.trigger,
      dryRun: row.dryRun,
      actor: row.actor,
      status: row.status,
      startedAt: row.startedAt,
      finishedAt: row.finishedAt,
      ...(row.error ? { error: row.error } : {}),
    };
    if (row.status === "running" && (await leaseHolder(this.db, GC_LEASE))?.holder !== row.id) {
      report = {
        ...report,
        status: "failed",
        progress: null,
        error: INTERRUPTED,
      };
    }
    return withItems ? report : { ...report, items: [] };
  }
}

/** What a running run's row holds: everything but the item list (which its end records). */
function summary(report: GcReport): GcReport {
  return { ...report, items: [] };
}
