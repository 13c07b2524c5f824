import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";
import { dialectOf } from "./database.js";

type Conn = Kysely<Database>;

/** Points a tag at a manifest; the last write wins. */
export async function setTag(db: Conn, repository: string, name: string, digest: string): Promise<void> {
  const updatedAt = now();
  await db
    .insertInto("tags")
    .values({ repository, name, digest, updated_at: updatedAt })
    .onConflict((oc) => oc.columns(["repository", "name"]).doUpdateSet({ digest, updated_at: updatedAt }))
    .execute();
}

export async function deleteTag(db: Conn, repository: string, name: string): Promise<boolean> {
  const result = await db
    .deleteFrom("tags")
    .where("repository", "=", repository)
    .where("name", "=", name)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
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
 * What changes whenever the repository's tags do: their number and the latest write. Adding, moving or
 * re-pushing a mutable tag sets its updated_at to now (at or after every other; an immutable tag's
 * identical re-push changes nothing); deleting one lowers the count.
 * One indexed aggregate, so a watcher's "anything new?" costs no listing.
 */
export async function tagsStamp(db: Conn, repository: string): Promise<string> {
  const row = await db
    .selectFrom("tags")
    .select((eb) => [eb.fn.countAll<number | string>().as("n"), eb.fn.max("updated_at").as("latest")])
    .where("repository", "=", repository)
    .executeTakeFirst();
  return `${String(row?.n ?? 0)}/${row?.latest ?? ""}`;
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
  await db
    .insertInto("tags")
    .values({ repository, name, digest, updated_at: now() })
    .onConflict((oc) => oc.columns(["repository", "name"]).doNothing())
    .execute();
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
