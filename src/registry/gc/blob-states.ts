import { RegistryError } from "../../oci/errors.js";
import type { Db } from "../../metadata/database.js";
import { linkBlob, type LinkedBlob, type LinkOutcome } from "../../metadata/blobs.js";
import {
  insertLiveBlob,
  readBlobRow,
  refreshTouched,
  takeOverDeleting,
  touchLiveBlob,
} from "../../metadata/gc-blobs.js";

/**
 * The blob state machine: how pushes, mounts, reads and the sweep share a blob without losing one.
 *
 * States of a digest's `blobs` row: absent → `live` (generation G, version v, touched_at) → `deleting`
 * → absent. Every transition is one conditional statement on that row, and every writer that gives a
 * blob a new reference writes that row FIRST, so on PostgreSQL (READ COMMITTED) the two sides of any race
 * meet on a row lock and the loser's WHERE is re-checked against the winner's row (EvalPlanQual): a
 * NOT EXISTS subquery alone would not see the other side's uncommitted insert. SQLite serialises writers.
 *
 * Writers (each a transaction):
 * - claim (upload completion, before the bytes are committed): a `live` row is touched (version + 1,
 *   touched_at = now) and its generation G remembered; an absent row is inserted live with a fresh G; a
 *   `deleting` row is waited for (its sweep is deleting the bytes and then the row), or taken over with a
 *   fresh G once older than DELETE_LEASE_MS (its sweep crashed; a later sweep may take it over first, by
 *   the same compare-and-swap on the old generation: one of them wins, the other sees a changed row).
 * - link (upload completion after commitUpload, with G; mount; any linkBlob): `UPDATE blobs SET
 *   version+1, touched_at WHERE status='live' [AND generation=G]` must touch the row, then the link is
 *   touched (`UPDATE repository_blobs`, which row-locks an existing link) and, only if that touched
 *   nothing, inserted (ON CONFLICT DO NOTHING: a conflict is a concurrent insert that committed, a link
 *   just made). Zero blob rows: the blob is being (or was) collected: nothing is linked and the request
 *   fails retryably (an upload is refused, a mount falls back to an upload session).
 * - manifest PUT: in its transaction, touches every link it relies on (UPDATE repository_blobs) and
 *   requires all of them present.
 * - reads that let a client skip an upload (HEAD/GET, mount's source): refresh the blob's and the
 *   link's touched_at when older than min(gc.grace/4, REFRESH_MAX_MS = 15 s) (conditionally, memoised:
 *   no hot-row write per request). A run's own grace window is at least min(gc.grace, 60 s)
 *   (collector.ts), so what a client HEADed looks untouched to a run only once the client has waited
 *   that window minus 15 s without relying on it (a push in progress references it well within that).
 *
 * Sweep of blob B (candidate read live with version v, generation G, touched_at < cutoff):
 *  1. CAS `live → deleting` WHERE version = v AND generation = G AND touched_at < cutoff AND no link AND no
 *     manifest reference, in one statement (touched_at = now: the start of the delete lease);
 *  2. delete B's bytes, only while the row is younger than DELETE_LEASE_MS / 2;
 *  3. `DELETE FROM blobs WHERE digest = B AND status = 'deleting' AND generation = G`.
 * Links are swept separately: `DELETE link WHERE touched_at < cutoff AND no manifest in the repository
 * references it` (a reference of any kind; a dry run counts the same); files with no row at all
 * (orphans) are claimed with a fresh `deleting` row first, deleted under the same half-lease guard as
 * step 2, and the row then dropped (when given up too: the file is an orphan again for a later run).
 * `deleting` rows older than DELETE_LEASE_MS (a sweep crashed between steps 1 and 3) are taken over by
 * the blobs phase: a CAS on the old generation to a fresh one and a fresh touched_at, then steps 2 and
 * 3. Nothing can have linked such a row since (links need `live`), so finishing its deletion is safe.
 *
 * Why no interleaving loses a blob a client was told is stored (a 201 for an upload or mount, or a
 * manifest the PUT acknowledged):
 * - Upload vs sweep. The upload's link statement requires `live AND generation = G`. If the sweep's CAS
 *   commits first, the row is `deleting` (or gone, or of another generation) and the upload is refused
 *   — no 201, whatever the sweep did to the bytes. If the link statement comes first, the CAS either
 *   waits on the row and re-reads a changed version, or runs later and sees the link: it touches nothing.
 *   The bytes the upload committed are those the sweep never deletes: a sweep deletes bytes only between
 *   its CAS and its row's removal, and a claim made during that time waits until the row is gone, so the
 *   upload commits after the delete. A sweep that stalls past DELETE_LEASE_MS/2 gives up before deleting,
 *   so a take-over at DELETE_LEASE_MS never races a late delete (assumes one delete call is shorter than
 *   DELETE_LEASE_MS/2, and — since touched_at is written by each node's own clock and a take-over judges
 *   it by another's — that the nodes' clocks differ by well under DELETE_LEASE_MS/2: NTP, not minutes).
 * - Mount vs sweep: the same link statement (any generation); a refused mount links nothing.
 * - Upload or mount vs link sweep (or unlinkBlob) on an existing link: the link's UPDATE comes before any
 *   insert, so a DELETE either committed first (the UPDATE touches nothing and the link is inserted
 *   afresh: "created") or waits on the row lock and re-checks the fresh touched_at (kept: "existing").
 *   Inserting first and touching after let a DELETE commit in between: a 201 with no link.
 * - Manifest PUT vs link sweep. The PUT writes the links it relies on; the link sweep's DELETE re-checks
 *   the row's own touched_at. Either the DELETE committed first (the PUT counts a missing link and answers
 *   MANIFEST_BLOB_UNKNOWN), or it waits for the PUT's row lock and finds touched_at fresh (or the PUT's
 *   reference committed) and deletes nothing.
 * - Manifest PUT vs blob sweep. A PUT only references blobs linked in its repository, and a linked blob
 *   is never claimed (CAS: no link); a link is only removed after the PUT that touched it committed (row
 *   lock), so the CAS that then finds no link also finds the PUT's committed reference, and stops.
 * - A reference outlives its link (a blob DELETE unlinks but the manifest still references it): the CAS
 *   checks references in any repository.
 * - Manifest re-PUT vs manifest sweep: a PUT of content already stored sets the manifest's touched_at
 *   (under the repository's tag lock, which the sweep's delete takes too), and the sweep judges the latest
 *   of created_at, touched_at and last_pulled_at: a manifest just acknowledged is never the sweep's.
 * - A `deleting` row answers 404 to reads (every lookup joins status = 'live'), so a client uploads the
 *   blob again and its claim waits for the sweep to finish.
 */
export const DELETE_LEASE_MS = 5 * 60_000;
/** How often a claim looks again at a `deleting` row, and for how long at most. */
const CLAIM_POLL_MS = 50;
const CLAIM_WAIT_MS = 30_000;
/**
 * A read refreshes a touch older than min(gc.grace/4, this). A run's own grace window is at least
 * min(gc.grace, 60 s) (see MIN_RUN_GRACE_MS in collector.ts), so a read is never older than any window
 * by the time it matters; the memo below keeps it to one write per link per this long per node.
 */
export const REFRESH_MAX_MS = 15_000;
/** Reads remembered as having refreshed a blob and link (beyond it, the oldest are forgotten). */
const MEMO_LIMIT = 10_000;

export class BlobStates {
  private readonly refreshed = new Map<string, number>();

  constructor(
    private readonly db: Db,
    /** gc.grace: how old a touch may be before a read refreshes it (a quarter of it, at most 15 s). */
    private readonly graceMs: number,
    private readonly leaseMs = DELETE_LEASE_MS,
  ) {}

  /**
   * Claims the digest for an upload about to commit its bytes: returns the generation of the live row the
   * link must then find. Waits (bounded) while a sweep deletes it; takes over a crashed sweep's row.
   */
  async claim(digest: string, size: number): Promise<string> {
    const deadline = Date.now() + CLAIM_WAIT_MS;
    for (;;) {
      const touched = await touchLiveBlob(this.db, digest);
      if (touched !== null) return touched;
      const inserted = await insertLiveBlob(this.db, digest, size);
      if (inserted !== null) return inserted;
      const row = await readBlobRow(this.db, digest);
      if (row?.status === "deleting") {
        const staleBefore = new Date(Date.now() - this.leaseMs).toISOString();
        if (row.touchedAt !== null && row.touchedAt < staleBefore) {
          const taken = await takeOverDeleting(this.db, digest, row.generation, size, staleBefore);
          if (taken !== null) return taken;
        }
        if (Date.now() > deadline) throw beingCollected(digest);
        await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
      }
      // Otherwise the row changed between the statements (it went live or away): look again.
    }
  }

  /** See linkBlob: in the caller's transaction, blob row first. */
  link(trx: Db, repository: string, digest: string, generation?: string): Promise<LinkOutcome> {
    return linkBlob(trx, repository, digest, generation);
  }

  /**
   * A read that lets a client skip an upload keeps the blob and its link from looking untouched: written
   * only when the touch is older than min(grace/4, REFRESH_MAX_MS), and at most once per that per node
   * for a given link.
   */
  async refresh(repository: string, digest: string, linked: LinkedBlob): Promise<void> {
    const at = Date.now();
    // Bounded by REFRESH_MAX_MS too: a run's own grace window (wharf gc --grace) may be far below gc.grace.
    const quarter = Math.min(this.graceMs / 4, REFRESH_MAX_MS);
    const olderThan = new Date(at - quarter).toISOString();
    const stale = (t: string | null) => t === null || t < olderThan;
    if (!stale(linked.blobTouchedAt) && !stale(linked.linkTouchedAt)) return;
    const key = `${repository}@${digest}`;
    const last = this.refreshed.get(key);
    if (last !== undefined && at - last < quarter) return;
    this.refreshed.delete(key);
    this.refreshed.set(key, at);
    if (this.refreshed.size > MEMO_LIMIT) {
      const oldest = this.refreshed.keys().next().value;
      if (oldest !== undefined) this.refreshed.delete(oldest);
    }
    await refreshTouched(this.db, repository, digest, olderThan);
  }
}

/** The upload's blob was collected while it committed (or is being collected for longer than a claim waits). */
export function beingCollected(digest: string): RegistryError {
  return new RegistryError(
    "BLOB_UPLOAD_INVALID",
    `blob ${digest} was being garbage-collected while this upload completed; push it again`,
    { digest, retryable: true },
    503,
  );
}
