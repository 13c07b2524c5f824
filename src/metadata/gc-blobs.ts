import { randomBytes } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";
import { batches } from "./batches.js";
import { dialectOf } from "./database.js";

type Conn = Kysely<Database>;

/**
 * The blob row's statements of the garbage-collection state machine (see src/registry/gc/blob-states.ts
 * for the states and why no interleaving loses a blob). Each is one statement, so it is atomic on both
 * backends; the ones two sides race on write the same `blobs` row.
 */

export function freshGeneration(): string {
  return randomBytes(12).toString("hex");
}

export interface BlobRow {
  status: "live" | "deleting";
  generation: string;
  version: number;
  touchedAt: string | null;
}

export async function readBlobRow(db: Conn, digest: string): Promise<BlobRow | null> {
  const row = await db
    .selectFrom("blobs")
    .select(["status", "generation", "version", "touched_at"])
    .where("digest", "=", digest)
    .executeTakeFirst();
  if (!row) return null;
  return {
    status: row.status,
    generation: row.generation,
    version: Number(row.version),
    touchedAt: row.touched_at,
  };
}

/** A live row gets touched (version + 1); returns its generation, or null when it is not live. */
export async function touchLiveBlob(db: Conn, digest: string, generation?: string): Promise<string | null> {
  let query = db
    .updateTable("blobs")
    .set({ version: sql<number>`version + 1`, touched_at: now() })
    .where("digest", "=", digest)
    .where("status", "=", "live");
  if (generation !== undefined) query = query.where("generation", "=", generation);
  const row = await query.returning("generation").executeTakeFirst();
  return row ? row.generation : null;
}

/** A new live row with a fresh generation; null when a row exists already. */
export async function insertLiveBlob(db: Conn, digest: string, size: number): Promise<string | null> {
  const generation = freshGeneration();
  const at = now();
  const result = await db
    .insertInto("blobs")
    .values({ digest, size, created_at: at, status: "live", generation, version: 0, touched_at: at })
    .onConflict((oc) => oc.column("digest").doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n ? generation : null;
}

/**
 * Takes over a `deleting` row whose sweep stopped (it is older than the delete lease), by compare-and-swap
 * on its generation: a fresh one makes the stalled sweep's last step (delete where generation = its own) a
 * no-op. An upload makes the row a new live incarnation of `size` bytes; a later sweep keeps it
 * `deleting` to finish the work, its fresh touched_at the start of its own delete lease. Both write the
 * same row, so exactly one of them wins. Null when the row changed meanwhile.
 */
async function takeOver(
  db: Conn,
  digest: string,
  generation: string,
  staleBefore: string,
  revive: { size: number } | undefined,
): Promise<string | null> {
  const fresh = freshGeneration();
  const result = await db
    .updateTable("blobs")
    .set({
      ...(revive ? { status: "live" as const, size: revive.size } : {}),
      generation: fresh,
      version: sql<number>`version + 1`,
      touched_at: now(),
    })
    .where("digest", "=", digest)
    .where("status", "=", "deleting")
    .where("generation", "=", generation)
    .where("touched_at", "<", staleBefore)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n ? fresh : null;
}

/** An upload's take-over: the row becomes live again (see takeOver). */
export function takeOverDeleting(
  db: Conn,
  digest: string,
  generation: string,
  size: number,
  staleBefore: string,
): Promise<string | null> {
  return takeOver(db, digest, generation, staleBefore, { size });
}

/** A `deleting` row whose sweep stopped before finishing (older than the delete lease). */
export interface StaleDeleting {
  digest: string;
  size: number;
  generation: string;
}

/** `deleting` rows untouched since `staleBefore`, in digest order after `after` (a crashed sweep's). */
export async function staleDeletingRows(
  db: Conn,
  staleBefore: string,
  after: string | undefined,
  limit: number,
): Promise<StaleDeleting[]> {
  let query = db
    .selectFrom("blobs")
    .select(["digest", "size", "generation"])
    .where("status", "=", "deleting")
    .where("touched_at", "<", staleBefore)
    .orderBy("digest")
    .limit(limit);
  if (after !== undefined) query = query.where("digest", ">", after);
  return (await query.execute()).map((r) => ({
    digest: r.digest,
    size: Number(r.size),
    generation: r.generation,
  }));
}

/** A sweep's take-over of a crashed sweep's row, to finish deleting it (see takeOver). */
export function takeOverForDelete(
  db: Conn,
  digest: string,
  generation: string,
  staleBefore: string,
): Promise<string | null> {
  return takeOver(db, digest, generation, staleBefore, undefined);
}

/** A candidate of the blob sweep, as read (the compare-and-swap needs the version it saw). */
export interface SweepCandidate {
  digest: string;
  size: number;
  version: number;
  generation: string;
}

/**
 * One page of every blob's digest in digest order after `after`. A sweep walks the table by its primary
 * key and filters each page: filtering first (status, touched_at) and then ordering by digest would sort
 * every stale row again for each page.
 */
export async function blobDigestsAfter(
  db: Conn,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  let query = db.selectFrom("blobs").select("digest").orderBy("digest").limit(limit);
  if (after !== undefined) query = query.where("digest", ">", after);
  return (await query.execute()).map((r) => r.digest);
}

/**
 * Which of `digests` (one page of blobDigestsAfter) are live and untouched since `cutoff`, in digest
 * order. With `unlinkedOnly`, only those no repository links and no manifest references (a dry run that
 * must see planned removals asks for all).
 */
export async function sweepCandidates(
  db: Conn,
  digests: readonly string[],
  cutoff: string,
  unlinkedOnly: boolean,
): Promise<SweepCandidate[]> {
  if (digests.length === 0) return [];
  let query = db
    .selectFrom("blobs as b")
    .select(["b.digest", "b.size", "b.version", "b.generation", "b.status", "b.touched_at"])
    .where("b.digest", "in", [...digests])
    .orderBy("b.digest");
  if (unlinkedOnly) {
    query = query
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("repository_blobs as l").select("l.digest").whereRef("l.digest", "=", "b.digest"),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("manifest_references as r")
              .select("r.child_digest")
              .whereRef("r.child_digest", "=", "b.digest")
              .where("r.kind", "=", "blob"),
          ),
        ),
      );
  }
  // Status and age are filtered here: in SQL, SQLite's planner would rather walk the (status, touched_at)
  // index over every stale row than look up the page's digests by primary key.
  const rows = (await query.execute()).filter(
    (r) => r.status === "live" && r.touched_at !== null && r.touched_at < cutoff,
  );
  return rows.map((r) => ({
    digest: r.digest,
    size: Number(r.size),
    version: Number(r.version),
    generation: r.generation,
  }));
}

/**
 * Step 1 of a sweep: live → deleting, only if nothing touched the row since it was read (version), it is
 * still untouched since the cutoff, and nothing links or references it — all in this one statement.
 */
export async function claimForDelete(db: Conn, candidate: SweepCandidate, cutoff: string): Promise<boolean> {
  const result = await db
    .updateTable("blobs")
    .set({ status: "deleting", version: sql<number>`version + 1`, touched_at: now() })
    .where("digest", "=", candidate.digest)
    .where("status", "=", "live")
    .where("version", "=", candidate.version)
    .where("generation", "=", candidate.generation)
    .where("touched_at", "<", cutoff)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("repository_blobs as l").select("l.digest").where("l.digest", "=", candidate.digest),
        ),
      ),
    )
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("manifest_references as r")
            .select("r.child_digest")
            .where("r.child_digest", "=", candidate.digest)
            .where("r.kind", "=", "blob"),
        ),
      ),
    )
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Step 3 of a sweep (or of an orphan's removal): the row of this incarnation goes, its bytes are gone. */
export async function deleteDeletingRow(db: Conn, digest: string, generation: string): Promise<boolean> {
  const result = await db
    .deleteFrom("blobs")
    .where("digest", "=", digest)
    .where("status", "=", "deleting")
    .where("generation", "=", generation)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** A sweep that could not delete the bytes puts its row back in service. */
export async function reviveDeleting(db: Conn, digest: string, generation: string): Promise<void> {
  await db
    .updateTable("blobs")
    .set({ status: "live", version: sql<number>`version + 1`, touched_at: now() })
    .where("digest", "=", digest)
    .where("status", "=", "deleting")
    .where("generation", "=", generation)
    .execute();
}

/**
 * Claims a file the database does not know, before deleting it: a `deleting` row of a fresh generation
 * (null when any row exists: an upload claimed the digest meanwhile, or it is known after all).
 */
export async function claimOrphan(db: Conn, digest: string, size: number): Promise<string | null> {
  const generation = freshGeneration();
  const at = now();
  const result = await db
    .insertInto("blobs")
    .values({ digest, size, created_at: at, status: "deleting", generation, version: 0, touched_at: at })
    .onConflict((oc) => oc.column("digest").doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n ? generation : null;
}

/** Which of `digests` have a blobs row (in any state). */
export async function knownBlobs(db: Conn, digests: string[]): Promise<Set<string>> {
  const known = new Set<string>();
  for (const batch of batches(digests)) {
    const rows = await db.selectFrom("blobs").select("digest").where("digest", "in", batch).execute();
    for (const row of rows) known.add(row.digest);
  }
  return known;
}

/** Every repository linking the digest, up to `limit` (a dry run checks them against planned removals). */
export async function linkingRepositories(db: Conn, digest: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom("repository_blobs")
    .select("repository")
    .where("digest", "=", digest)
    .limit(limit)
    .execute();
  return rows.map((r) => r.repository);
}

/**
 * Manifests referencing the digest, as `${repository}@${manifest}`, up to `limit` — what a dry run
 * checks against planned removals, counted as the real statements count: for a blob (no repository:
 * sweepCandidates, claimForDelete) only `blob` references; for a link in `repository` (staleLinks,
 * deleteStaleLink) a reference of any kind.
 */
export async function referencingManifests(
  db: Conn,
  digest: string,
  limit: number,
  repository?: string,
): Promise<string[]> {
  let query = db
    .selectFrom("manifest_references")
    .select(["repository", "manifest_digest"])
    .where("child_digest", "=", digest)
    .limit(limit);
  query =
    repository === undefined ? query.where("kind", "=", "blob") : query.where("repository", "=", repository);
  return (await query.execute()).map((r) => `${r.repository}@${r.manifest_digest}`);
}

export interface LinkCandidate {
  repository: string;
  digest: string;
}

/**
 * Links untouched since `cutoff`, in (repository, digest) order after `after`. With `unreferencedOnly`,
 * only those no manifest in their repository references.
 */
export async function staleLinks(
  db: Conn,
  cutoff: string,
  after: LinkCandidate | undefined,
  limit: number,
  unreferencedOnly: boolean,
): Promise<LinkCandidate[]> {
  let query = db
    .selectFrom("repository_blobs as l")
    .select(["l.repository", "l.digest"])
    .where("l.touched_at", "<", cutoff)
    .orderBy("l.repository")
    .orderBy("l.digest")
    .limit(limit);
  if (after) {
    // A row comparison seeks the primary key on both backends, where the equivalent OR scans from the start.
    query = query.where((eb) =>
      eb(eb.refTuple("l.repository", "l.digest"), ">", eb.tuple(after.repository, after.digest)),
    );
  }
  if (unreferencedOnly)
    query = query.where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("manifest_references as r")
            .select("r.child_digest")
            .whereRef("r.repository", "=", "l.repository")
            .whereRef("r.child_digest", "=", "l.digest"),
        ),
      ),
    );
  return query.execute();
}

/**
 * Removes a stale link if it is still stale and unreferenced in its repository. A manifest PUT relying
 * on the link touches it first in its transaction, so on PostgreSQL this delete waits for that row and
 * re-checks touched_at (the row's own column) — it never removes a link a manifest just came to use.
 */
export async function deleteStaleLink(db: Conn, link: LinkCandidate, cutoff: string): Promise<boolean> {
  const result = await db
    .deleteFrom("repository_blobs as l")
    .where("l.repository", "=", link.repository)
    .where("l.digest", "=", link.digest)
    .where("l.touched_at", "<", cutoff)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("manifest_references as r")
            .select("r.child_digest")
            .whereRef("r.repository", "=", "l.repository")
            .whereRef("r.child_digest", "=", "l.digest"),
        ),
      ),
    )
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Touches the links a manifest relies on (in its write's transaction); returns how many exist. Writing the
 * rows is what orders this write against a concurrent link sweep (see deleteStaleLink).
 */
export async function touchLinks(db: Conn, repository: string, digests: string[]): Promise<number> {
  let touched = 0;
  const at = now();
  // Rows locked in digest order, the order a link sweep's batch deletes them in: two transactions that
  // lock some of the same links never wait on each other in a cycle (PostgreSQL; SQLite has one writer).
  const sorted = [...new Set(digests)].sort();
  const postgres = dialectOf(db) === "postgres";
  for (const batch of batches(sorted)) {
    if (postgres) {
      await db
        .selectFrom("repository_blobs")
        .select("digest")
        .where("repository", "=", repository)
        .where("digest", "in", batch)
        .orderBy("digest")
        .forUpdate()
        .execute();
    }
    const result = await db
      .updateTable("repository_blobs")
      .set({ touched_at: at })
      .where("repository", "=", repository)
      .where("digest", "in", batch)
      .executeTakeFirst();
    touched += Number(result.numUpdatedRows);
  }
  return touched;
}

/**
 * Refreshes a blob's and a link's touched_at when older than `olderThan` (conditional: a refresh another
 * request just did is not repeated). Reads that let a client skip an upload call it.
 */
export async function refreshTouched(
  db: Conn,
  repository: string,
  digest: string,
  olderThan: string,
): Promise<void> {
  const at = now();
  await db
    .updateTable("blobs")
    .set({ touched_at: at, version: sql<number>`version + 1` })
    .where("digest", "=", digest)
    .where("status", "=", "live")
    .where((eb) => eb.or([eb("touched_at", "<", olderThan), eb("touched_at", "is", null)]))
    .execute();
  await db
    .updateTable("repository_blobs")
    .set({ touched_at: at })
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .where((eb) => eb.or([eb("touched_at", "<", olderThan), eb("touched_at", "is", null)]))
    .execute();
}

/** How many upload sessions are idle since before `before` (what an expiry would remove; a dry run). */
export async function countStaleUploads(db: Conn, before: string): Promise<number> {
  const row = await db
    .selectFrom("uploads")
    .select((eb) => eb.fn.countAll().as("count"))
    .where("updated_at", "<", before)
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}
