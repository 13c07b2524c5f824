import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";

type Conn = Kysely<Database>;

export interface UploadSession {
  id: string;
  repository: string;
  /** Bytes received and acknowledged. */
  size: number;
  /** SHA-256 state after `size` bytes, when it was saved. */
  hashState: Buffer | null;
  storeState: string | null;
}

export interface UploadProgress {
  size: number;
  hashState: Buffer | null;
  storeState: string | null;
}

export async function insertUpload(db: Conn, id: string, repository: string, storeState: string | null) {
  const at = now();
  await db
    .insertInto("uploads")
    .values({ id, repository, created_at: at, updated_at: at, size: 0, store_state: storeState })
    .execute();
}

export async function findUpload(db: Conn, id: string): Promise<UploadSession | null> {
  const row = await db
    .selectFrom("uploads")
    .select(["id", "repository", "size", "hash_state", "store_state"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) return null;
  return {
    id: row.id,
    repository: row.repository,
    size: Number(row.size),
    hashState: row.hash_state ? Buffer.from(row.hash_state) : null,
    storeState: row.store_state,
  };
}

/**
 * Takes the upload's write lease for `token` until `until` when nobody holds a live one. One statement,
 * so two nodes racing for it cannot both win.
 */
export async function acquireLease(
  db: Conn,
  id: string,
  token: string,
  until: Date,
  /** Only if the session is still idle since before this (ISO time): for expiry. */
  idleBefore?: string,
): Promise<boolean> {
  let update = db
    .updateTable("uploads")
    .set({ lease_token: token, lease_until: until.toISOString() })
    .where("id", "=", id)
    .where((eb) => eb.or([eb("lease_token", "is", null), eb("lease_until", "<", now())]));
  if (idleBefore !== undefined) update = update.where("updated_at", "<", idleBefore);
  const result = await update.executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Extends a lease this token still holds; false when it was lost (it expired and was taken). */
export async function renewLease(db: Conn, id: string, token: string, until: Date): Promise<boolean> {
  const result = await db
    .updateTable("uploads")
    .set({ lease_until: until.toISOString() })
    .where("id", "=", id)
    .where("lease_token", "=", token)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function releaseLease(db: Conn, id: string, token: string): Promise<void> {
  await db
    .updateTable("uploads")
    .set({ lease_token: null, lease_until: null })
    .where("id", "=", id)
    .where("lease_token", "=", token)
    .execute();
}

export async function releaseAllLeases(db: Conn): Promise<void> {
  await db
    .updateTable("uploads")
    .set({ lease_token: null, lease_until: null })
    .where("lease_token", "is not", null)
    .execute();
}

/** Records what a write added, only while `token` holds the lease. */
export async function saveProgress(db: Conn, id: string, token: string, progress: UploadProgress) {
  const result = await db
    .updateTable("uploads")
    .set({
      size: progress.size,
      hash_state: progress.hashState,
      store_state: progress.storeState,
      updated_at: now(),
    })
    .where("id", "=", id)
    .where("lease_token", "=", token)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteUpload(db: Conn, id: string): Promise<void> {
  await db.deleteFrom("uploads").where("id", "=", id).execute();
}

/** Sessions with no activity since `before` (ISO time) and no live lease, at most `limit`. */
export async function staleUploads(db: Conn, before: string, limit: number): Promise<UploadSession[]> {
  const at = now();
  const rows = await db
    .selectFrom("uploads")
    .select(["id", "repository", "size", "hash_state", "store_state"])
    .where("updated_at", "<", before)
    .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", at)]))
    .orderBy("updated_at")
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    repository: row.repository,
    size: Number(row.size),
    hashState: null,
    storeState: row.store_state,
  }));
}

/** Which of `ids` have a session. */
export async function existingUploadIds(db: Conn, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom("uploads").select("id").where("id", "in", ids).execute();
  return new Set(rows.map((r) => r.id));
}
