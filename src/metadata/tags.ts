import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";
import { dialectOf } from "./database.js";

type Conn = Kysely<Database>;

/*
 * Every write to `tags` bumps its repository's tags_version in the same transaction (when it changed
 * something), which is what the tag list's ETag is made of. A transaction that writes tags calls
 * lockTags first: every tag writer then takes the repository's row before any tag row, so two of them
 * cannot deadlock on PostgreSQL (one holding a tag the other wants while waiting for the repository).
 */

/** Serialises the repository's tag writers (PostgreSQL; SQLite has one writer). Call it first in the transaction. */
export async function lockTags(db: Conn, repository: string): Promise<void> {
  if (dialectOf(db) !== "postgres") return;
  await db.selectFrom("repositories").select("name").where("name", "=", repository).forUpdate().execute();
}

/** Records that the repository's tags changed (see lockTags). */
export async function bumpTagsVersion(db: Conn, repository: string): Promise<void> {
  await db
    .updateTable("repositories")
    .set({ tags_version: sql<number>`tags_version + 1` })
    .where("name", "=", repository)
    .execute();
}

/**
 * Points a tag at a manifest; the last write wins. The same digest again refreshes updated_at only: the
 * tag list did not change, so its version is not bumped.
 */
export async function setTag(db: Conn, repository: string, name: string, digest: string): Promise<void> {
  const current = await lockedTagDigest(db, repository, name);
  const updatedAt = now();
  await db
    .insertInto("tags")
    .values({ repository, name, digest, updated_at: updatedAt })
    .onConflict((oc) => oc.columns(["repository", "name"]).doUpdateSet({ digest, updated_at: updatedAt }))
    .execute();
  if (current !== digest) await bumpTagsVersion(db, repository);
}

export async function deleteTag(db: Conn, repository: string, name: string): Promise<boolean> {
  const result = await db
    .deleteFrom("tags")
    .where("repository", "=", repository)
    .where("name", "=", name)
    .executeTakeFirst();
  const found = result.numDeletedRows > 0n;
  if (found) await bumpTagsVersion(db, repository);
  return found;
}

/** Tag names in order, after `last`, at most `limit`. */
export async function listTags(
  db: Conn,
  repository: string,
  last: string | undefined,
  limit: number,
): Promise<string[]> {
  let query = db
    .selectFrom("tags")
    .select("name")
    .where("repository", "=", repository)
    .orderBy("name")
    .limit(limit);
  if (last !== undefined) query = query.where("name", ">", last);
  return (await query.execute()).map((r) => r.name);
}

/**
 * The repository's tags_version (see lockTags), or undefined when there is no such repository: one read
 * by primary key, so a watcher's "anything new?" costs no listing.
 */
export async function tagsVersion(db: Conn, repository: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("repositories")
    .select("tags_version")
    .where("name", "=", repository)
    .executeTakeFirst();
  return row && String(row.tags_version);
}

/** The digest a tag points at, or undefined. On PostgreSQL the row stays locked until the transaction ends. */
export async function lockedTagDigest(
  db: Conn,
  repository: string,
  name: string,
): Promise<string | undefined> {
  let query = db
    .selectFrom("tags")
    .select("digest")
    .where("repository", "=", repository)
    .where("name", "=", name);
  if (dialectOf(db) === "postgres") query = query.forUpdate();
  return (await query.executeTakeFirst())?.digest;
}

/**
 * Points a tag at a manifest only if the tag is new; returns the digest it points at afterwards. A
 * concurrent writer of the same new tag waits on PostgreSQL's unique index, then sees the other's row.
 */
export async function createTagOnce(
  db: Conn,
  repository: string,
  name: string,
  digest: string,
): Promise<string> {
  const result = await db
    .insertInto("tags")
    .values({ repository, name, digest, updated_at: now() })
    .onConflict((oc) => oc.columns(["repository", "name"]).doNothing())
    .executeTakeFirst();
  // An identical re-push inserts nothing: the tag list did not change.
  if (Number(result.numInsertedOrUpdatedRows ?? 0n) > 0) await bumpTagsVersion(db, repository);
  return (await lockedTagDigest(db, repository, name)) ?? digest;
}

/** The tags pointing at a manifest, in name order after `last`, at most `limit`. */
export async function tagsOf(
  db: Conn,
  repository: string,
  digest: string,
  last: string | undefined,
  limit: number,
): Promise<string[]> {
  let query = db
    .selectFrom("tags")
    .select("name")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .orderBy("name")
    .limit(limit);
  if (last !== undefined) query = query.where("name", ">", last);
  const rows = await query.execute();
  return rows.map((r) => r.name);
}
