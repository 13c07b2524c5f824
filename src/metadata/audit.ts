import type { Insertable, Kysely, Selectable } from "kysely";
import type { AuditEventsTable, Database } from "./schema.js";

type Conn = Kysely<Database>;
export type AuditEventRow = Selectable<AuditEventsTable>;

export interface AuditFilter {
  actor?: string;
  action?: string;
  repository?: string;
  since?: string;
  /** Events with a sequence number below this (for paging backwards from the newest). */
  before?: number;
  limit: number;
}

export async function insertAuditEvent(db: Conn, event: Insertable<AuditEventsTable>): Promise<void> {
  await db.insertInto("audit_events").values(event).execute();
}

/** Newest first. `action` matches exactly or as a prefix ending in a dot (`user.` finds every user event). */
export async function queryAuditEvents(db: Conn, filter: AuditFilter): Promise<AuditEventRow[]> {
  let query = db.selectFrom("audit_events").selectAll().orderBy("seq", "desc").limit(filter.limit);
  if (filter.actor !== undefined) query = query.where("actor", "=", filter.actor);
  if (filter.action !== undefined) {
    const action = filter.action;
    // A prefix is a range, not LIKE: LIKE ignores ASCII case on SQLite but not on PostgreSQL, and needs
    // its wildcards escaped; a range compares bytes on both (the column is collate "C").
    query = action.endsWith(".")
      ? query.where("action", ">=", action).where("action", "<", `${action}\uffff`)
      : query.where("action", "=", action);
  }
  if (filter.repository !== undefined) query = query.where("repository", "=", filter.repository);
  if (filter.since !== undefined) query = query.where("at", ">=", filter.since);
  if (filter.before !== undefined) query = query.where("seq", "<", filter.before);
  return query.execute();
}
