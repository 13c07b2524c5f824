import { batches } from "../../metadata/batches.js";
import type { Db } from "../../metadata/database.js";
import type { BlobStore } from "../../storage/blob-store.js";
import {
  blobDigestsAfter,
  claimForDelete,
  claimOrphan,
  countStaleUploads,
  deleteDeletingRow,
  deleteStaleLink,
  knownBlobs,
  linkingRepositories,
  referencingManifests,
  reviveDeleting,
  staleLinks,
  staleDeletingRows,
  sweepCandidates,
  takeOverForDelete,
  type LinkCandidate,
  type SweepCandidate,
} from "../../metadata/gc-blobs.js";
import type { KeyedLock } from "../keyed-lock.js";
import type { QuotaService } from "../quotas/service.js";
import { DELETE_LEASE_MS } from "./blob-states.js";
import type { PhaseReport, SweepContext, SweepPhase } from "./types.js";

/** Rows or files looked at per query: every scan is paged (keyset), memory stays flat at any size. */
const PAGE = 500;
/** Removals committed per transaction: each is its own compare-and-swap, the commit is shared. */
const BATCH = 100;
/** Blob files deleted at once (an object store answers each delete in a round trip). */
const DELETE_CONCURRENCY = 8;
/** A dry run checks at most this many links or references of a candidate against planned removals. */
const CHECK_LIMIT = 1000;

export interface BlobPhaseDeps {
  /** Held while a blob file is replaced or deleted (see StorageVerification). */
  commits: KeyedLock;
  /** A removed link stops counting towards its namespaces' quotas, in the removal's transaction. */
  quotas: QuotaService;
  /** Expires stale upload sessions with their data (UploadService.expire at the uploads TTL). */
  expireUploads(): Promise<number>;
  /** The uploads TTL, for counting what a dry run would expire. */
  uploadTtlMs: number;
  /** How long a sweep may take to delete a claimed blob's bytes before giving up (tests shorten it). */
  deleteLeaseMs?: number;
}

type Result = Omit<PhaseReport, "phase">;

/**
 * The phases that reclaim bytes, in order: links no manifest in their repository references, blobs
 * nothing links or references, files the database does not know, and expired upload sessions — each
 * removal a compare-and-swap on the database (see blob-states.ts for why no interleaving loses a blob).
 */
export function blobPhases(db: Db, store: BlobStore, deps: BlobPhaseDeps): SweepPhase[] {
  const leaseMs = deps.deleteLeaseMs ?? DELETE_LEASE_MS;
  return [
    { name: "links", run: (ctx) => sweepLinks(db, deps.quotas, ctx) },
    { name: "blobs", run: (ctx) => sweepBlobs(db, store, deps.commits, leaseMs, ctx) },
    { name: "orphans", run: (ctx) => sweepOrphans(db, store, deps.commits, leaseMs, ctx) },
    {
      name: "uploads",
      run: async (ctx) => {
        const count = ctx.dryRun
          ? await countStaleUploads(db, new Date(Date.now() - deps.uploadTtlMs).toISOString())
          : await deps.expireUploads();
        ctx.progress(count, count);
        return { count, bytes: 0, skipped: 0 };
      },
    },
  ];
}

const key = (repository: string, digest: string) => `${repository}@${digest}`;

async function sweepLinks(db: Db, quotas: QuotaService, ctx: SweepContext): Promise<Result> {
  const cutoff = ctx.cutoff.toISOString();
  // In a dry run the manifest phase only planned its removals: their references still stand in the
  // database, so each candidate's are checked against the plan.
  const planning = ctx.dryRun && ctx.planned.manifests.size > 0;
  const result: Result = { count: 0, bytes: 0, skipped: 0 };
  let after: LinkCandidate | undefined;
  let done = 0;
  for (;;) {
    const page = await staleLinks(db, cutoff, after, PAGE, !planning);
    for (const chunk of batches(page, BATCH)) {
      if (ctx.signal.aborted) return result;
      const candidates: LinkCandidate[] = [];
      for (const link of chunk) {
        if (planning) {
          const refs = await referencingManifests(db, link.digest, CHECK_LIMIT, link.repository);
          if (refs.length >= CHECK_LIMIT || refs.some((r) => !ctx.planned.manifests.has(r))) continue;
        }
        candidates.push(link);
      }
      const removed = ctx.dryRun ? candidates : await removeLinks(db, quotas, candidates, cutoff);
      done += chunk.length;
      ctx.progress(done);
      result.skipped += candidates.length - removed.length;
      for (const link of removed) {
        ctx.planned.links.add(key(link.repository, link.digest));
        result.count++;
        ctx.removed({
          kind: "link",
          repository: link.repository,
          digest: link.digest,
          bytes: 0,
          reason: "unreferenced",
        });
      }
    }
    if (page.length < PAGE) return result;
    after = page.at(-1);
  }
}

/**
 * Removes a batch of links in one transaction, each by its own compare-and-swap (deleteStaleLink re-checks
 * it in the statement), so a batch is as safe as one link per transaction and far cheaper to commit.
 * No immutable tag can rely on a removed link: the statement removes only links no manifest of their
 * repository references, and a tag's manifest references (directly or through an index) every blob it
 * relies on in its own repository.
 */
async function removeLinks(
  db: Db,
  quotas: QuotaService,
  links: LinkCandidate[],
  cutoff: string,
): Promise<LinkCandidate[]> {
  if (links.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const removed: LinkCandidate[] = [];
    for (const link of links) if (await deleteStaleLink(trx, link, cutoff)) removed.push(link);
    // Last in the transaction: quota rows are locked after everything else a write locks.
    await quotas.removedHoldings(trx, removed);
    return removed;
  });
}

async function sweepBlobs(
  db: Db,
  store: BlobStore,
  commits: KeyedLock,
  leaseMs: number,
  ctx: SweepContext,
): Promise<Result> {
  const cutoff = ctx.cutoff.toISOString();
  const planning = ctx.dryRun && (ctx.planned.links.size > 0 || ctx.planned.manifests.size > 0);
  const result: Result = { count: 0, bytes: 0, skipped: 0 };
  let after: string | undefined;
  let done = 0;
  for (;;) {
    // A dry run with planned removals cannot filter links and references in SQL: some only plan to go.
    const digests = await blobDigestsAfter(db, after, PAGE);
    const page = await sweepCandidates(db, digests, cutoff, !planning);
    for (const chunk of batches(page, BATCH)) {
      if (ctx.signal.aborted) return result;
      let removed: SweepCandidate[];
      if (!ctx.dryRun) {
        const outcome = await sweepBatch(db, store, commits, leaseMs, chunk, cutoff);
        removed = outcome.removed;
        result.skipped += outcome.skipped;
      } else if (planning) {
        removed = [];
        for (const candidate of chunk) if (await wouldSweep(db, candidate, ctx)) removed.push(candidate);
      } else {
        removed = chunk;
      }
      for (const candidate of removed) {
        result.count++;
        result.bytes += candidate.size;
        ctx.removed({
          kind: "blob",
          digest: candidate.digest,
          bytes: candidate.size,
          reason: "unreferenced",
        });
      }
    }
    done += digests.length;
    ctx.progress(done);
    if (digests.length < PAGE) break;
    after = digests.at(-1);
  }
  await finishInterrupted(db, store, commits, leaseMs, ctx, result);
  return result;
}

/**
 * `deleting` rows a crashed sweep left (older than the delete lease): nothing links or references them
 * (they were claimed so, and nothing links a row that is not live), so this sweep takes each over by
 * compare-and-swap on the old generation and finishes the job: the bytes (if still there), then the row.
 */
async function finishInterrupted(
  db: Db,
  store: BlobStore,
  commits: KeyedLock,
  leaseMs: number,
  ctx: SweepContext,
  result: Result,
): Promise<void> {
  const staleBefore = new Date(Date.now() - leaseMs).toISOString();
  let after: string | undefined;
  for (;;) {
    const page = await staleDeletingRows(db, staleBefore, after, PAGE);
    for (const row of page) {
      if (ctx.signal.aborted) return;
      // What the store gives back: the crashed sweep may have deleted the bytes already.
      const bytes = (await store.stat(row.digest))?.size ?? 0;
      if (!ctx.dryRun) {
        const generation = await takeOverForDelete(db, row.digest, row.generation, staleBefore);
        if (generation === null) {
          result.skipped++;
          continue;
        }
        const claimed = Date.now();
        const deleted = await commits.run(row.digest, async () => {
          if (Date.now() - claimed >= leaseMs / 2) return false;
          await store.delete(row.digest);
          return true;
        });
        // Given up (or failed, thrown): the row stays `deleting`; a later run takes it over again.
        if (!deleted) {
          result.skipped++;
          continue;
        }
        await deleteDeletingRow(db, row.digest, generation);
      }
      result.count++;
      result.bytes += bytes;
      ctx.removed({ kind: "blob", digest: row.digest, bytes, reason: "interrupted deletion" });
    }
    if (page.length < PAGE) return;
    after = page.at(-1)?.digest;
  }
}

/** A dry run's verdict: nothing links it but planned links, nothing references it but planned manifests. */
async function wouldSweep(db: Db, candidate: SweepCandidate, ctx: SweepContext): Promise<boolean> {
  const links = await linkingRepositories(db, candidate.digest, CHECK_LIMIT);
  if (links.length >= CHECK_LIMIT || links.some((r) => !ctx.planned.links.has(key(r, candidate.digest)))) {
    return false;
  }
  const refs = await referencingManifests(db, candidate.digest, CHECK_LIMIT);
  return refs.length < CHECK_LIMIT && refs.every((r) => ctx.planned.manifests.has(r));
}

/**
 * The three steps of blob-states.ts for a batch: claim each candidate by its own compare-and-swap (one
 * transaction for the batch), delete the claimed bytes within the lease, then drop their rows (one
 * transaction). A row whose bytes could not go is put back in service.
 */
async function sweepBatch(
  db: Db,
  store: BlobStore,
  commits: KeyedLock,
  leaseMs: number,
  candidates: SweepCandidate[],
  cutoff: string,
): Promise<{ removed: SweepCandidate[]; skipped: number }> {
  // Read before the claims: no claimed row's touched_at is older, so the lease is never overrun.
  const claimedAt = Date.now();
  const claimed = await db.transaction().execute(async (trx) => {
    const won: SweepCandidate[] = [];
    for (const candidate of candidates) if (await claimForDelete(trx, candidate, cutoff)) won.push(candidate);
    return won;
  });
  const removed: SweepCandidate[] = [];
  let failure: unknown;
  // A few deletes at a time (an object store answers each in a round trip); each group's rows are dropped
  // as soon as its bytes are gone, so an upload of one of them waits for one group, not the batch.
  for (const group of batches(claimed, DELETE_CONCURRENCY)) {
    const outcomes = await Promise.allSettled(
      group.map((candidate) =>
        commits.run(candidate.digest, async () => {
          // Past half the lease an upload may take the row over soon: deleting now could hit its bytes.
          if (Date.now() - claimedAt >= leaseMs / 2) throw new LeaseExpired();
          await store.delete(candidate.digest);
        }),
      ),
    );
    const deleted: SweepCandidate[] = [];
    for (const [i, outcome] of outcomes.entries()) {
      const candidate = group[i]!;
      if (outcome.status === "fulfilled") {
        deleted.push(candidate);
        continue;
      }
      if (!(outcome.reason instanceof LeaseExpired)) failure ??= outcome.reason;
      // The bytes are still there: the blob goes back in service (an upload waiting on it proceeds).
      // Should that fail too, the row stays `deleting` and a later run finishes it (finishInterrupted).
      await reviveDeleting(db, candidate.digest, candidate.generation).catch((err: unknown) => {
        failure ??= err;
      });
    }
    if (deleted.length > 0) {
      await db.transaction().execute(async (trx) => {
        for (const candidate of deleted) await deleteDeletingRow(trx, candidate.digest, candidate.generation);
      });
      removed.push(...deleted);
    }
  }
  if (failure !== undefined) throw failure;
  return { removed, skipped: candidates.length - removed.length };
}

class LeaseExpired extends Error {}

async function sweepOrphans(
  db: Db,
  store: BlobStore,
  commits: KeyedLock,
  leaseMs: number,
  ctx: SweepContext,
): Promise<Result> {
  const result: Result = { count: 0, bytes: 0, skipped: 0 };
  let after: string | undefined;
  let done = 0;
  for (;;) {
    const page = await store.listBlobs(after, PAGE);
    const known = await knownBlobs(
      db,
      page.map((b) => b.digest),
    );
    for (const file of page) {
      if (ctx.signal.aborted) return result;
      ctx.progress(++done);
      if (known.has(file.digest) || file.modified >= ctx.cutoff) continue;
      if (!ctx.dryRun) {
        // Claimed first: an upload of this digest meanwhile waits for the row to go, then commits afresh.
        const generation = await claimOrphan(db, file.digest, file.size);
        if (generation === null) {
          result.skipped++;
          continue;
        }
        const claimed = Date.now();
        let deleted = false;
        try {
          deleted = await commits.run(file.digest, async () => {
            // As sweepOne: past half the lease an upload may take the row over and commit these bytes.
            if (Date.now() - claimed >= leaseMs / 2) return false;
            await store.delete(file.digest);
            return true;
          });
        } finally {
          // Released either way: deleted, or still an orphan (unknown again) for a later run.
          await deleteDeletingRow(db, file.digest, generation);
        }
        if (!deleted) {
          result.skipped++;
          continue;
        }
      }
      result.count++;
      result.bytes += file.size;
      ctx.removed({
        kind: "orphan",
        digest: file.digest,
        bytes: file.size,
        reason: "unknown to the database",
      });
    }
    if (page.length < PAGE) return result;
    after = page.at(-1)?.digest;
  }
}
