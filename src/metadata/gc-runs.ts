import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

type Conn = Kysely<Database>;

export interface GcRunRow {
  id: string;
  trigger: "schedule" | "manual";
  dryRun: boolean;
  actor: string;
  status: "running" | "done" | "failed";
  startedAt: string;
  finishedAt: string | null;
  /** The report as JSON: the progress so far while running, the whole report once finished. */
  report: string | null;
  error: string | null;
}

const columns = [
  "id",
  "trigger",
  "dry_run",
  "actor",
  "status",
  "started_at",
  "finished_at",
  "report",
  "error",
] as const;

export async function insertGcRun(
  db: Conn,
  run: Pick<GcRunRow, "id" | "trigger" | "dryRun" | "actor" | "startedAt" | "report">,
): Promise<void> {
  await db
    .insertInto("gc_runs")
    .values({
      id: run.id,
      trigger: run.trigger,
      dry_run: run.dryRun ? 1 : 0,
      actor: run.actor,
      status: "running",
      started_at: run.startedAt,
      report: run.report,
    })
    .execute();
}

/** Progress of a running run (only while it is running: a late write never undoes its end). */
export async function updateGcRunProgress(db: Conn, id: string, report: string): Promise<void> {
  await db
    .updateTable("gc_runs")
    .set({ report })
    .where("id", "=", id)
    .where("status", "=", "running")
    .execute();
}

export async function finishGcRun(
  db: Conn,
  id: string,
  end: { status: "done" | "failed"; finishedAt: string; report: string; error: string | null },
): Promise<void> {
  await db
    .updateTable("gc_runs")
    .set({ status: end.status, finished_at: end.finishedAt, report: end.report, error: end.error })
    .where("id", "=", id)
    .execute();
}

/**
 * Marks every run still recorded as running but `current` as failed: called by the lease's holder, so
 * no other run can be going on (those rows are what a crashed or killed node left).
 */
export async function failAbandonedGcRuns(db: Conn, current: string, error: string): Promise<void> {
  await db
    .updateTable("gc_runs")
    .set({ status: "failed", finished_at: new Date().toISOString(), error })
    .where("status", "=", "running")
    .where("id", "!=", current)
    .execute();
}

/** Keeps the `keep` most recent finished runs (running ones always stay). */
export async function pruneGcRuns(db: Conn, keep: number): Promise<void> {
  const last = await db
    .selectFrom("gc_runs")
    .select("started_at")
    .where("status", "!=", "running")
    .orderBy("started_at", "desc")
    .offset(keep - 1)
    .limit(1)
    .executeTakeFirst();
  if (!last) return;
  await db
    .deleteFrom("gc_runs")
    .where("status", "!=", "running")
    .where("started_at", "<", last.started_at)
    .execute();
}

function toRow(row: {
  id: string;
  trigger: "schedule" | "manual";
  dry_run: number;
  actor: string;
  status: "running" | "done" | "failed";
  started_at: string;
  finished_at: string | null;
  report: string | null;
  error: string | null;
}): GcRunRow {
  return {
    id: row.id,
    trigger: row.trigger,
    dryRun: Number(row.dry_run) === 1,
    actor: row.actor,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    report: row.report,
    error: row.error,
  };
}

export async function findGcRun(db: Conn, id: string): Promise<GcRunRow | null> {
  const row = await db.selectFrom("gc_runs").select(columns).where("id", "=", id).executeTakeFirst();
  return row ? toRow(row) : null;
}

/** The most recent runs first, at most `limit`, with or without their reports. */
export async function recentGcRuns(db: Conn, limit: number): Promise<GcRunRow[]> {
  const rows = await db
    .selectFrom("gc_runs")
    .select(columns)
    .orderBy("started_at", "desc")
    .orderBy("id")
    .limit(limit)
    .execute();
  return rows.map(toRow);
}

/** When the newest run that was not a dry run started (any node, any trigger, any status), or null. */
export async function newestRealRunStart(db: Conn): Promise<string | null> {
  const row = await db
    .selectFrom("gc_runs")
    .select("started_at")
    .where("dry_run", "=", 0)
    .orderBy("started_at", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.started_at ?? null;
}
