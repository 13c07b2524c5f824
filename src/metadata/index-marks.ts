import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";

type Conn = Kysely<Database>;

export interface IndexMark {
  namespace: string;
  token: string;
  markedAt: string;
}

/**
 * Marks namespaces' managed indexes out of date (inside the push's own transaction: one upsert each).
 * Every mark gets a new token, so a rebuild that read an older token knows it is no longer current.
 */
export async function markIndexes(db: Conn, namespaces: readonly string[]): Promise<void> {
  for (const namespace of namespaces) {
    const token = randomUUID();
    const markedAt = now();
    await db
      .insertInto("index_marks")
      .values({ namespace, token, marked_at: markedAt })
      // The first mark's time is kept: it says how long the namespace has waited.
      .onConflict((oc) => oc.column("namespace").doUpdateSet({ token }))
      .execute();
  }
}

export async function findIndexMark(db: Conn, namespace: string): Promise<IndexMark | null> {
  const row = await db
    .selectFrom("index_marks")
    .selectAll()
    .where("namespace", "=", namespace)
    .executeTakeFirst();
  return row ? { namespace: row.namespace, token: row.token, markedAt: row.marked_at } : null;
}

/** Marked namespaces among `namespaces`. */
export async function markedNamespaces(db: Conn, namespaces: readonly string[]): Promise<string[]> {
  if (namespaces.length === 0) return [];
  const rows = await db
    .selectFrom("index_marks")
    .select("namespace")
    .where("namespace", "in", [...namespaces])
    .execute();
  return rows.map((r) => r.namespace);
}

/**
 * Clears the mark if it still has `token` (no push since it was read). The DELETE is the check: it
 * locks the row, so a concurrent mark either lands before (and the clear fails) or after (a new mark).
 */
export async function clearIndexMark(db: Conn, namespace: string, token: string): Promise<boolean> {
  const result = await db
    .deleteFrom("index_marks")
    .where("namespace", "=", namespace)
    .where("token", "=", token)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
