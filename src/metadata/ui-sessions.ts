import type { Insertable, Kysely, Selectable } from "kysely";
import type { Database, UiSessionsTable } from "./schema.js";

type Conn = Kysely<Database>;
export type UiSessionRow = Selectable<UiSessionsTable>;

export async function insertUiSession(db: Conn, row: Insertable<UiSessionsTable>): Promise<void> {
  await db.insertInto("ui_sessions").values(row).execute();
}

export async function findUiSession(db: Conn, idHash: string): Promise<UiSessionRow | undefined> {
  return db.selectFrom("ui_sessions").selectAll().where("id_hash", "=", idHash).executeTakeFirst();
}

/**
 * Slides a session's expiry. Only when last seen before `staleBefore`, so that several nodes seeing the
 * same session within a minute write it once between them.
 */
export async function touchUiSession(
  db: Conn,
  idHash: string,
  seenAt: string,
  expiresAt: string,
  staleBefore: string,
): Promise<void> {
  await db
    .updateTable("ui_sessions")
    .set({ last_seen_at: seenAt, expires_at: expiresAt })
    .where("id_hash", "=", idHash)
    .where("last_seen_at", "<", staleBefore)
    .execute();
}

export async function deleteUiSession(db: Conn, idHash: string): Promise<void> {
  await db.deleteFrom("ui_sessions").where("id_hash", "=", idHash).execute();
}

/** Every session of a user: in the transaction that removes the user or changes the password. */
export async function deleteUiSessionsOf(db: Conn, subject: string): Promise<void> {
  await db.deleteFrom("ui_sessions").where("subject", "=", subject).execute();
}

/** Up to `limit` sessions expired at `at` (the oldest first): a bounded sweep, run now and then. */
export async function deleteExpiredUiSessions(db: Conn, at: string, limit: number): Promise<void> {
  await db
    .deleteFrom("ui_sessions")
    .where("id_hash", "in", (q) =>
      q
        .selectFrom("ui_sessions")
        .select("id_hash")
        .where("expires_at", "<=", at)
        .orderBy("expires_at")
        .limit(limit),
    )
    .execute();
}
