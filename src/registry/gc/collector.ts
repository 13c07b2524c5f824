import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { RegistryError } from "../../oci/errors.js";
import { refreshPlannerStatistics, type Db } from "../../metadata/database.js";
import { acquireLease, leaseHolder, releaseLease, renewLease } from "../../metadata/leases.js";
import {
  failAbandonedGcRuns,
  finishGcRun,
  findGcRun,
  insertGcRun,
  newestRealRunStart,
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
/** Renewals that may fail in a row before the run stops (the next would come after the lease ran out). */
const RENEWAL_FAILURES = 2;
/**
 * A run's own grace window is at least min(gc.grace, MIN_RUN_GRACE_MS): a push in progress needs the
 * blobs it uploaded for that long before its manifest references them. And at most MAX_RUN_GRACE_MS.
 */
export const MIN_RUN_GRACE_MS = 60_000;
export const MAX_RUN_GRACE_MS = 3650 * 24 * 3600_000;
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
  /** This run's grace window instead of gc.grace (`wharf gc --grace`). */
  graceMs?: number;
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

/** A scheduled run not made: another run (on any node) started less than gc.interval/2 ago. */
export class ScheduleSkipped extends Error {}

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
    /** How long the `gc` lease is taken for (renewed every quarter of it); tests shorten it. */
    private readonly leaseMs = LEASE_MS,
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
          if (err instanceof ScheduleSkipped) this.log.debug(err.message);
          else if (!(err instanceof GcBusyError)) this.log.error({ err }, "garbage collection failed");
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
   * GcBusyError (naming the run in progress) when another run holds the lease; RegistryError
   * INVALID_REQUEST for a grace window out of bounds; ScheduleSkipped for a scheduled run another run
   * (on any node) made unnecessary.
   */
  async begin(request: RunRequest): Promise<StartedRun> {
    this.stopping.signal.throwIfAborted();
    // Everything that can throw on the request's account is computed before the lease is taken.
    const graceMs = this.runGrace(request.graceMs);
    const started = new Date();
    const report: GcReport = {
      id: randomUUID(),
      trigger: request.trigger,
      dryRun: request.dryRun,
      actor: request.actor,
      status: "running",
      startedAt: started.toISOString(),
      finishedAt: null,
      graceMs,
      cutoff: new Date(started.getTime() - graceMs).toISOString(),
      phases: [],
      count: 0,
      bytes: 0,
      items: [],
      truncated: false,
      progress: null,
    };
    const { id } = report;
    if (!(await acquireLease(this.db, GC_LEASE, id, new Date(Date.now() + this.leaseMs)))) {
      throw await this.busy();
    }
    let finished: Promise<GcReport>;
    try {
      // Under the lease, so nodes whose schedules fire together decide one after the other.
      if (request.trigger === "schedule") await this.requireScheduleDue(started);
      await failAbandonedGcRuns(this.db, id, INTERRUPTED);
      await insertGcRun(this.db, { ...report, report: JSON.stringify(summary(report)) });
      finished = this.execute(request, report);
    } catch (err) {
      await releaseLease(this.db, GC_LEASE, id).catch(() => undefined);
      throw err;
    }
    this.runs.add(finished);
    void finished.then(
      () => this.runs.delete(finished),
      () => this.runs.delete(finished),
    );
    // The caller may not wait (the API answers 202): its failure is in the run's record and the log.
    finished.catch(() => undefined);
    return { id, report, finished };
  }

  /** The run's grace window: gc.grace, or the request's own within its bounds (see MIN_RUN_GRACE_MS). */
  private runGrace(requested: number | undefined): number {
    if (requested === undefined) return this.options.graceMs;
    const least = Math.min(this.options.graceMs, MIN_RUN_GRACE_MS);
    if (!Number.isSafeInteger(requested) || requested < least) {
      throw new RegistryError(
        "INVALID_REQUEST",
        `a run's grace window must be at least ${least / 1000}s (the shorter of gc.grace and ` +
          `${MIN_RUN_GRACE_MS / 1000}s): a push in progress needs the blobs it uploaded for that long`,
        { graceMs: requested, minimum: least },
      );
    }
    if (requested > MAX_RUN_GRACE_MS) {
      throw new RegistryError("INVALID_REQUEST", "a run's grace window must be at most 10 years", {
        graceMs: requested,
        maximum: MAX_RUN_GRACE_MS,
      });
    }
    return requested;
  }

  /**
   * Every node runs the schedule: a scheduled run is made only when no run (on any node, scheduled or
   * manual, but not a dry run) started in the last half interval, so N nodes sweep about once per
   * gc.interval, not N times.
   */
  private async requireScheduleDue(now: Date): Promise<void> {
    const newest = await newestRealRunStart(this.db);
    const since = newest === null ? Infinity : now.getTime() - Date.parse(newest);
    if (since < this.options.intervalMs / 2) {
      throw new ScheduleSkipped(`scheduled garbage collection skipped: a run started ${newest} already`);
    }
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
    let failures = 0;
    const renewal = setInterval(() => {
      renewLease(this.db, GC_LEASE, id, new Date(Date.now() + this.leaseMs)).then(
        (held) => {
          failures = 0;
          if (!held) abort.abort(new Error("the garbage collection lease was lost"));
        },
        (err: unknown) => {
          // A run must never outlive its lease: after a few failed renewals another node may take it.
          this.log.warn({ err, run: id }, "renewing the garbage collection lease failed");
          if (++failures >= RENEWAL_FAILURES) {
            abort.abort(new Error(`the garbage collection lease could not be renewed: ${String(err)}`));
          }
        },
      );
    }, this.leaseMs / 4);
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
      // The sweeps' lookups need plans fit for the tables' current sizes.
      await refreshPlannerStatistics(this.db).catch((err: unknown) =>
        this.log.debug({ err }, "refreshing the planner's statistics failed"),
      );
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
