import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import { dialectOf } from "./database.js";

type Conn = Kysely<Database>;

export interface LiveAttempt {
  keyHash: string;
  state: "pending" | "failed";
  expiresMs: number;
}

/** Advisory lock class for login keys (two-int form: its key space is apart from single-bigint locks). */
const LOGIN_LOCK_CLASS = 0x57484c47;

/**
 * Runs `work` holding an exclusive lock on each key, across every node on the database, so that a
 * count-then-reserve cannot interleave with another one for the same key. PostgreSQL: transaction-scoped
 * advisory locks, taken in one global order (no deadlock between two logins sharing one key). SQLite:
 * `BEGIN IMMEDIATE` takes the single write lock before reading, so a deferred transaction never has to
 * upgrade from read to write (which fails at once, busy timeout or not, when another process wrote).
 */
export async function withKeysLocked<T>(
  db: Conn,
  keyHashes: readonly string[],
  work: (conn: Conn) => Promise<T>,
): Promise<T> {
  if (dialectOf(db as Kysely<unknown>) === "postgres") {
    const ids = [...new Set(keyHashes.map(lockId))].sort((a, b) => a - b);
    return db.transaction().execute(async (trx) => {
      for (const id of ids) await sql`select pg_advisory_xact_lock(${LOGIN_LOCK_CLASS}, ${id})`.execute(trx);
      return work(trx);
    });
  }
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    let result: T;
    try {
      result = await work(conn);
    } catch (err) {
      await sql`rollback`.execute(conn);
      throw err;
    }
    await sql`commit`.execute(conn);
    return result;
  });
}

/** A signed 32-bit lock id from a hex SHA-256. */
function lockId(keyHash: string): number {
  return Number.parseInt(keyHash.slice(0, 8), 16) | 0;
}

/**
 * The newest `limit` attempts counting against a key now (bounded: a key holds no more than its limit,
 * since none is reserved on a full key), newest first.
 */
export async function liveAttempts(
  db: Conn,
  keyHash: string,
  nowMs: number,
  limit: number,
): Promise<LiveAttempt[]> {
  const rows = await db
    .selectFrom("login_attempts")
    .select(["key_hash", "state", "expires_ms"])
    .where("key_hash", "=", keyHash)
    .where("expires_ms", ">", nowMs)
    .orderBy("expires_ms", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ keyHash: r.key_hash, state: r.state, expiresMs: Number(r.expires_ms) }));
}

/** Reserves attempt `id` on every key, counting until `expiresMs` unless it ends before. */
export async function insertPending(
  db: Conn,
  id: string,
  keyHashes: readonly string[],
  expiresMs: number,
): Promise<void> {
  await db
    .insertInto("login_attempts")
    .values(keyHashes.map((key_hash) => ({ id, key_hash, state: "pending" as const, expires_ms: expiresMs })))
    .execute();
}

/** The guess was wrong: it counts as a failure on each of its keys until `expiresMs`. */
export async function markFailed(db: Conn, id: string, expiresMs: number): Promise<void> {
  await db
    .updateTable("login_attempts")
    .set({ state: "failed", expires_ms: expiresMs })
    .where("id", "=", id)
    .execute();
}

/** The credentials were right: the reservation no longer counts. */
export async function deleteAttempt(db: Conn, id: string): Promise<void> {
  await db.deleteFrom("login_attempts").where("id", "=", id).execute();
}

/** Keeps the table bounded: rows past their expiry count for nothing. */
export async function pruneAttempts(db: Conn, nowMs: number): Promise<void> {
  await db.deleteFrom("login_attempts").where("expires_ms", "<=", nowMs).execute();
}
