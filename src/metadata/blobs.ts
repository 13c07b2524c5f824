import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";
import { ensureRepository } from "./repositories.js";
import { batches } from "./batches.js";
import { touchLiveBlob } from "./gc-blobs.js";

type Conn = Kysely<Database>;

/** What linkBlob did: the blob was not live (being deleted, or gone), or the link is new, or it existed. */
export type LinkOutcome = "refused" | "created" | "existing";

/**
 * Links `digest` to `repository` if the blob's row is live (of `generation`, when given: the incarnation
 * an upload claimed before committing its bytes). The blob's row is written first — it is the row a
 * concurrent sweep's compare-and-swap meets (see src/registry/gc/blob-states.ts) — then the link, new
 * or touched. Call in a transaction; "refused" means nothing was linked and the caller must not
 * acknowledge the blob.
 */
export async function linkBlob(
  db: Conn,
  repository: string,
  digest: string,
  generation?: string,
): Promise<LinkOutcome> {
  if ((await touchLiveBlob(db, digest, generation)) === null) return "refused";
  const at = now();
  // Touch first: the UPDATE row-locks an existing link, so a racing link sweep (or unlinkBlob) either
  // committed before it (0 rows: the link is inserted afresh) or waits and re-checks the fresh touched_at.
  // Inserting first, then touching, let a DELETE commit between the two: "existing", with no link.
  const touched = await db
    .updateTable("repository_blobs")
    .set({ touched_at: at })
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .executeTakeFirst();
  if (touched.numUpdatedRows > 0n) return "existing";
  await ensureRepository(db, repository);
  const inserted = await db
    .insertInto("repository_blobs")
    .values({ repository, digest, created_at: at, touched_at: at })
    .onConflict((oc) => oc.columns(["repository", "digest"]).doNothing())
    .executeTakeFirst();
  // The one place a transaction knows the link is new (usage accounting hooks in here, by the caller).
  // A conflict is a concurrent insert that committed meanwhile: a link just made, fresh.
  return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n ? "created" : "existing";
}

/** A linked, live blob's size and when it and its link were last touched. */
export interface LinkedBlob {
  size: number;
  blobTouchedAt: string | null;
  linkTouchedAt: string | null;
}

export async function linkedBlob(db: Conn, repository: string, digest: string): Promise<LinkedBlob | null> {
  const row = await db
    .selectFrom("repository_blobs")
    .innerJoin("blobs", "blobs.digest", "repository_blobs.digest")
    .select(["blobs.size", "blobs.touched_at as blobTouched", "repository_blobs.touched_at as linkTouched"])
    .where("repository_blobs.repository", "=", repository)
    .where("repository_blobs.digest", "=", digest)
    .where("blobs.status", "=", "live")
    .executeTakeFirst();
  return row
    ? { size: Number(row.size), blobTouchedAt: row.blobTouched, linkTouchedAt: row.linkTouched }
    : null;
}

/** Size of a blob linked to the repository, or null when the repository may not serve it. */
export async function linkedBlobSize(db: Conn, repository: string, digest: string): Promise<number | null> {
  const row = await db
    .selectFrom("repository_blobs")
    .innerJoin("blobs", "blobs.digest", "repository_blobs.digest")
    .select("blobs.size")
    .where("repository_blobs.repository", "=", repository)
    .where("repository_blobs.digest", "=", digest)
    .where("blobs.status", "=", "live")
    .executeTakeFirst();
  return row ? Number(row.size) : null;
}

/** Sizes of those of `digests` linked to the repository (looked up in batches: there may be thousands). */
export async function linkedBlobSizes(
  db: Conn,
  repository: string,
  digests: string[],
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("repository_blobs")
      .innerJoin("blobs", "blobs.digest", "repository_blobs.digest")
      .select(["blobs.digest", "blobs.size"])
      .where("repository_blobs.repository", "=", repository)
      .where("repository_blobs.digest", "in", batch)
      .where("blobs.status", "=", "live")
      .execute();
    for (const row of rows) sizes.set(row.digest, Number(row.size));
  }
  return sizes;
}

/** Returns whether a link was removed. */
export async function unlinkBlob(db: Conn, repository: string, digest: string): Promise<boolean> {
  const result = await db
    .deleteFrom("repository_blobs")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export interface KnownBlob {
  digest: string;
  size: number;
}

/** Blobs the store should hold, in digest order after `after`, at most `limit` (for paging through all). */
export async function listBlobs(db: Conn, after: string | undefined, limit: number): Promise<KnownBlob[]> {
  // A blob being deleted is the collector's, not one the store should hold.
  let query = db
    .selectFrom("blobs")
    .select(["digest", "size"])
    .where("status", "=", "live")
    .orderBy("digest")
    .limit(limit);
  if (after !== undefined) query = query.where("digest", ">", after);
  return (await query.execute()).map((r) => ({ digest: r.digest, size: Number(r.size) }));
}

/** How many blobs the store should hold, and their bytes. */
export async function blobTotals(db: Conn): Promise<{ count: number; bytes: number }> {
  const row = await db
    .selectFrom("blobs")
    .select((eb) => [eb.fn.countAll().as("count"), eb.fn.sum("size").as("bytes")])
    .where("status", "=", "live")
    .executeTakeFirst();
  return { count: Number(row?.count ?? 0), bytes: Number(row?.bytes ?? 0) };
}
