import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";
import { ensureRepository } from "./repositories.js";
import { batches } from "./batches.js";

type Conn = Kysely<Database>;

/** Records that the store holds `digest` and that `repository` may serve it; whether the link is new. */
export async function linkBlob(db: Conn, repository: string, digest: string, size: number): Promise<boolean> {
  const at = now();
  await ensureRepository(db, repository);
  await db
    .insertInto("blobs")
    .values({ digest, size, created_at: at })
    .onConflict((oc) => oc.column("digest").doNothing())
    .execute();
  const linked = await db
    .insertInto("repository_blobs")
    .values({ repository, digest, created_at: at })
    .onConflict((oc) => oc.columns(["repository", "digest"]).doNothing())
    .executeTakeFirst();
  return Number(linked.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Size of a blob linked to the repository, or null when the repository may not serve it. */
export async function linkedBlobSize(db: Conn, repository: string, digest: string): Promise<number | null> {
  const row = await db
    .selectFrom("repository_blobs")
    .innerJoin("blobs", "blobs.digest", "repository_blobs.digest")
    .select("blobs.size")
    .where("repository_blobs.repository", "=", repository)
    .where("repository_blobs.digest", "=", digest)
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
  let query = db.selectFrom("blobs").select(["digest", "size"]).orderBy("digest").limit(limit);
  if (after !== undefined) query = query.where("digest", ">", after);
  return (await query.execute()).map((r) => ({ digest: r.digest, size: Number(r.size) }));
}

/** How many blobs the store should hold, and their bytes. */
export async function blobTotals(db: Conn): Promise<{ count: number; bytes: number }> {
  const row = await db
    .selectFrom("blobs")
    .select((eb) => [eb.fn.countAll().as("count"), eb.fn.sum("size").as("bytes")])
    .executeTakeFirst();
  return { count: Number(row?.count ?? 0), bytes: Number(row?.bytes ?? 0) };
}
