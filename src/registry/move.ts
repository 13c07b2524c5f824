import type { Db } from "../metadata/database.js";
import {
  MOVED_TABLES,
  SEARCH_TERMS,
  advanceSequences,
  copySearchTerms,
  countRows,
  filledTable,
  insertMissing,
  keyOf,
  moveSourceOf,
  readPage,
  recordMoveSource,
  unknownTables,
  type MovedTable,
} from "../metadata/move-tables.js";
import { findSigningKey, insertSigningKeyIfAbsent } from "../metadata/signing-keys.js";
import { bumpImmutableGeneration } from "../metadata/change-counters.js";
import { deleteAllImmutableRules } from "../metadata/immutable-rules.js";
import type { BlobStore } from "../storage/blob-store.js";
import { blobRows, copyBlobs, eachConcurrently, MAX_PROBLEMS, type BlobProblem } from "./move-blobs.js";

export type { BlobProblem } from "./move-blobs.js";

/**
 * Moving a registry's whole content from one pair of backends to another (embedded to PostgreSQL + S3).
 * Blobs first, each re-hashed on its way into the target, so no row the tables phase copies ever
 * refers to a blob the target lacks; then every table. Resumable: copied blobs are skipped by size and
 * rows by primary key, so running it again after an interruption finishes the job.
 */

export interface MoveSide {
  db: Db;
  store: BlobStore;
}

/** Progress display (the CLI's bars on a terminal; nothing otherwise). */
export interface MoveProgress {
  task(label: string, total: number): { update(done: number): void; done(note?: string): void };
}

export interface MoveOptions {
  /** Names the source, recorded in the target: a later run accepts a target filled from it. */
  sourceId: string;
  /** Re-hash blobs the target already has instead of trusting their size. */
  verifyExisting?: boolean;
  /** Blobs copied at once. */
  concurrency?: number;
  /**
   * The source's token signing key (JWK JSON) when it is still in the file older versions kept it in:
   * stored in the target unless the tables brought one, so tokens the old registry issued stay valid.
   */
  legacySigningKey?: string;
  progress?: MoveProgress;
}

export interface TableReport {
  table: string;
  /** Rows in the source. */
  source: number;
  /**
   * Rows this run inserted (rows a previous run inserted are not counted again); for search_terms,
   * which has no key, the rows written: they are replaced per manifest on every run.
   */
  inserted: number;
  /** Rows in the target afterwards. */
  target: number;
}

export interface MoveReport {
  source: string;
  blobs: {
    total: number;
    copied: number;
    skipped: number;
    /** Of the skipped, how many were re-hashed and found intact (--verify-existing). */
    verified: number;
    bytesCopied: number;
    totalBytes: number;
  };
  tables: TableReport[];
  /** Source blobs that could not be moved (the first MAX_PROBLEMS): the move is incomplete while any are. */
  problems: BlobProblem[];
  /** How many source blobs could not be moved, listed or not. */
  problemCount: number;
  /** What the final check found wrong (missing blobs, row counts short). */
  mismatches: string[];
  /** Upload sessions in the source, not moved (they are in-flight state). */
  uploadsLeft: number;
  /** Whether the legacy signing key was stored in the target. */
  legacySigningKeyMoved: boolean;
  ok: boolean;
}

/** A move that cannot start (its message says why and what to do). */
export class MoveRefusedError extends Error {}

/** Stats in flight at once while checking the target store (each one a request on S3). */
const VERIFY_CONCURRENCY = 8;

export async function moveRegistry(
  source: MoveSide,
  target: MoveSide,
  options: MoveOptions,
): Promise<MoveReport> {
  const rerun = await checkMovable(source.db, target.db, options.sourceId);
  if (!rerun) {
    // The target's migrations gave it the default rule; the source may have removed it. Cleared in the
    // marker's transaction: a rerun (marker set) must keep what the first run copied.
    await target.db.transaction().execute(async (trx) => {
      await bumpImmutableGeneration(trx);
      await deleteAllImmutableRules(trx);
      await recordMoveSource(trx, options.sourceId);
    });
  }

  const blobs = await copyBlobs(source, target, options);
  const failed = blobs.failed;
  const tables: TableReport[] = [];
  const rowsTask = options.progress?.task("copying tables", MOVED_TABLES.length + 1);
  for (const [i, table] of MOVED_TABLES.entries()) {
    // A blob that could not be copied gets no rows in the target: nothing may promise what it lacks.
    const skip = table.name === "blobs" || table.name === "repository_blobs" ? failed : undefined;
    tables.push({ table: table.name, ...(await copyTable(source.db, target.db, table, skip)) });
    rowsTask?.update(i + 1);
  }
  const terms = await copySearchTerms(source.db, target.db);
  tables.push({ table: SEARCH_TERMS, source: 0, inserted: terms, target: 0 });
  await advanceSequences(target.db);
  // Nodes serving the target between two runs drop the rules they cached.
  await bumpImmutableGeneration(target.db);
  const legacySigningKeyMoved = await adoptSigningKey(target.db, options.legacySigningKey);
  rowsTask?.done(`${tables.length} tables`);

  const mismatches = await verify(source, target, tables, failed);
  const uploadsLeft = await countRows(source.db, "uploads");
  return {
    source: options.sourceId,
    blobs: blobs.blobs,
    tables,
    problems: blobs.problems,
    problemCount: failed.size,
    mismatches,
    uploadsLeft,
    legacySigningKeyMoved,
    ok: failed.size === 0 && mismatches.length === 0,
  };
}

async function adoptSigningKey(target: Db, jwk: string | undefined): Promise<boolean> {
  if (jwk === undefined || (await findSigningKey(target)) !== undefined) return false;
  await insertSigningKeyIfAbsent(target, jwk);
  return true;
}

/**
 * The target must be new, or one this source filled before (a rerun). Merging two registries has no
 * right answer: on every key both hold (a user, a tag, an audit seq) one side's row would silently win.
 */
/** Returns whether this is a rerun (the target was filled from this source before). */
async function checkMovable(source: Db, target: Db, sourceId: string): Promise<boolean> {
  const unknown = await unknownTables(source);
  if (unknown.length > 0) {
    throw new MoveRefusedError(
      `the source has tables this wharf does not know how to move (${unknown.join(", ")}): ` +
        "run the move with the wharf version that created them",
    );
  }
  const filledFrom = await moveSourceOf(target);
  if (filledFrom === sourceId) return true;
  if (filledFrom !== undefined) {
    throw new MoveRefusedError(
      `the target was filled by a move from ${filledFrom}, not ${sourceId}: refusing to merge two ` +
        "registries; move into an empty database and bucket prefix",
    );
  }
  const filled = await filledTable(target);
  if (filled !== undefined) {
    // A node started on the target before the move counts too: it may have written settings or audit.
    throw new MoveRefusedError(
      `the target database is not empty (its ${filled} table has rows): refusing to merge two ` +
        "registries; move into an empty database, before any node runs on it",
    );
  }
  return false;
}

async function copyTable(
  source: Db,
  target: Db,
  table: MovedTable,
  skipDigests: Set<string> | undefined,
): Promise<Omit<TableReport, "table">> {
  let inserted = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const page = await readPage(source, table, after);
    if (page.length === 0) break;
    after = keyOf(table, page[page.length - 1] as Record<string, unknown>);
    const rows = skipDigests ? page.filter((row) => !skipDigests.has(String(row.digest))) : page;
    inserted += await insertMissing(target, table, rows);
  }
  return { source: 0, inserted, target: 0 };
}

/**
 * The final check, from the target's side: every source row has arrived (counts: the target may hold
 * more, if it served between two runs) and every blob is stored with its recorded size.
 */
async function verify(
  source: MoveSide,
  target: MoveSide,
  tables: TableReport[],
  failed: Set<string>,
): Promise<string[]> {
  const mismatches: string[] = [];
  for (const report of tables) {
    report.source = await countRows(source.db, report.table);
    report.target = await countRows(target.db, report.table);
    // Rows of blobs that could not be copied were left out on purpose (they are problems already).
    const expected = ["blobs", "repository_blobs"].includes(report.table)
      ? report.source - (await countWithDigests(source.db, report.table, failed))
      : report.source;
    if (report.target < expected) {
      mismatches.push(`${report.table}: ${report.target} rows in the target, ${expected} expected`);
    }
  }
  for await (const page of blobRows(source.db)) {
    await eachConcurrently(page, VERIFY_CONCURRENCY, async (blob) => {
      if (failed.has(blob.digest) || mismatches.length >= MAX_PROBLEMS) return;
      const stat = await target.store.stat(blob.digest);
      if (stat?.size !== blob.size) {
        mismatches.push(`blob ${blob.digest}: ${stat ? `${stat.size} bytes` : "absent"} in the target store`);
      }
    });
  }
  return mismatches;
}

async function countWithDigests(db: Db, table: string, digests: Set<string>): Promise<number> {
  let n = 0;
  const all = [...digests];
  for (let i = 0; i < all.length; i += 500) {
    const row = await db
      .selectFrom(table as "blobs")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("digest", "in", all.slice(i, i + 500))
      .executeTakeFirstOrThrow();
    n += Number(row.n);
  }
  return n;
}
