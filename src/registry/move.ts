import { createHash, randomUUID } from "node:crypto";
import { pipeline } from "node:stream";
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
import { BlobNotFoundError, type BlobStore } from "../storage/blob-store.js";
import { parseDigest } from "../oci/digest.js";
import { DigestingStream } from "./digesting-stream.js";

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
  progress?: MoveProgress;
}

export interface BlobProblem {
  digest: string;
  size: number;
  problem: "corrupt" | "missing";
  detail: string;
}

export interface TableReport {
  table: string;
  /** Rows in the source. */
  source: number;
  /** Rows this run inserted (rows a previous run inserted are not counted again). */
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
  ok: boolean;
}

/** A move that cannot start (its message says why and what to do). */
export class MoveRefusedError extends Error {}

/** Most problems listed; a source with more is in no state to move anyway. */
const MAX_PROBLEMS = 1000;
const DEFAULT_CONCURRENCY = 4;

export async function moveRegistry(
  source: MoveSide,
  target: MoveSide,
  options: MoveOptions,
): Promise<MoveReport> {
  await checkMovable(source.db, target.db, options.sourceId);
  await recordMoveSource(target.db, options.sourceId);

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
    ok: failed.size === 0 && mismatches.length === 0,
  };
}

/**
 * The target must be new, or one this source filled before (a rerun). Merging two registries has no
 * right answer: on every key both hold (a user, a tag, an audit seq) one side's row would silently win.
 */
async function checkMovable(source: Db, target: Db, sourceId: string): Promise<void> {
  const unknown = await unknownTables(source);
  if (unknown.length > 0) {
    throw new MoveRefusedError(
      `the source has tables this wharf does not know how to move (${unknown.join(", ")}): ` +
        "run the move with the wharf version that created them",
    );
  }
  const filledFrom = await moveSourceOf(target);
  if (filledFrom === sourceId) return;
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
}

async function copyBlobs(source: MoveSide, target: MoveSide, options: MoveOptions) {
  const blobsTable = MOVED_TABLES.find((t) => t.name === "blobs") as MovedTable;
  const total = await countRows(source.db, "blobs");
  const totalBytes = await sumSizes(source.db);
  const report = { total, copied: 0, skipped: 0, verified: 0, bytesCopied: 0, totalBytes };
  const problems: BlobProblem[] = [];
  // Every digest that failed, listed or not: none of them may get rows in the target.
  const failed = new Set<string>();
  const task = options.progress?.task("copying blobs", totalBytes);
  let done = 0;
  const advance = (bytes: number) => {
    done += bytes;
    task?.update(done);
  };
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  let after: unknown[] | undefined;
  for (;;) {
    const page = await readPage(source.db, blobsTable, after);
    if (page.length === 0) break;
    after = keyOf(blobsTable, page[page.length - 1] as Record<string, unknown>);
    const queue = page.map((row) => ({ digest: String(row.digest), size: Number(row.size) }));
    const worker = async () => {
      for (let blob = queue.shift(); blob; blob = queue.shift()) {
        const outcome = await moveBlob(
          source.store,
          target.store,
          blob,
          options.verifyExisting === true,
          advance,
        );
        if (typeof outcome === "object") {
          failed.add(outcome.digest);
          if (problems.length < MAX_PROBLEMS) problems.push(outcome);
          continue;
        }
        if (outcome === "copied") {
          report.copied += 1;
          report.bytesCopied += blob.size;
        } else {
          report.skipped += 1;
          if (outcome === "verified") report.verified += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  task?.done(`${report.copied} copied, ${report.skipped} skipped`);
  return { blobs: report, problems, failed };
}

type BlobOutcome = "copied" | "skipped" | "verified" | BlobProblem;

async function moveBlob(
  from: BlobStore,
  to: BlobStore,
  blob: { digest: string; size: number },
  verifyExisting: boolean,
  advance: (bytes: number) => void,
): Promise<BlobOutcome> {
  const existing = await to.stat(blob.digest);
  if (existing?.size === blob.size) {
    if (!verifyExisting) {
      advance(blob.size);
      return "skipped";
    }
    // A bad copy in the target is replaced below: commitUpload overwrites atomically.
    if ((await hashOf(to, blob, () => undefined)) === null) {
      advance(blob.size);
      return "verified";
    }
  }
  const problem = (kind: BlobProblem["problem"], detail: string): BlobProblem => ({
    ...blob,
    problem: kind,
    detail,
  });
  let input;
  try {
    input = await from.read(blob.digest);
  } catch (err) {
    if (err instanceof BlobNotFoundError) return problem("missing", "the source store has no such blob");
    throw err;
  }
  const { algorithm, hex } = parseDigest(blob.digest);
  const hash = createHash(algorithm);
  let sent = 0;
  const digesting = new DigestingStream({
    update(chunk: Buffer) {
      hash.update(chunk);
      sent += chunk.length;
      advance(chunk.length);
    },
  });
  const id = randomUUID();
  const state = await to.createUpload(id);
  let committed = false;
  try {
    // The callback form returns the last stream and carries a read error of the source into it.
    const written = await to.appendUpload(
      id,
      state,
      0,
      pipeline(input, digesting, () => undefined),
    );
    const actual = hash.digest("hex");
    if (written.size !== blob.size || sent !== blob.size) {
      advance(blob.size - sent);
      return problem("corrupt", `${sent} bytes stored, ${blob.size} recorded`);
    }
    if (actual !== hex) return problem("corrupt", `its content hashes to ${algorithm}:${actual}`);
    await to.commitUpload(id, written.state, blob.digest, blob.size);
    committed = true;
    return "copied";
  } finally {
    // After a refusal or a failure the scratch data goes (a commit consumed it).
    if (!committed) await to.deleteUpload(id, state).catch(() => undefined);
  }
}

/** Re-hashes a stored blob: null when intact, else what is wrong with it. */
async function hashOf(
  store: BlobStore,
  blob: { digest: string; size: number },
  advance: (bytes: number) => void,
): Promise<string | null> {
  const { algorithm, hex } = parseDigest(blob.digest);
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of await store.read(blob.digest)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    advance((chunk as Buffer).length);
  }
  if (size !== blob.size) return `${size} bytes, ${blob.size} recorded`;
  const actual = hash.digest("hex");
  return actual === hex ? null : `hashes to ${algorithm}:${actual}`;
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
  const blobsTable = MOVED_TABLES.find((t) => t.name === "blobs") as MovedTable;
  let after: unknown[] | undefined;
  for (;;) {
    const page = await readPage(source.db, blobsTable, after);
    if (page.length === 0) break;
    after = keyOf(blobsTable, page[page.length - 1] as Record<string, unknown>);
    for (const row of page) {
      const digest = String(row.digest);
      if (failed.has(digest) || mismatches.length >= MAX_PROBLEMS) continue;
      const stat = await target.store.stat(digest);
      if (stat?.size !== Number(row.size)) {
        mismatches.push(`blob ${digest}: ${stat ? `${stat.size} bytes` : "absent"} in the target store`);
      }
    }
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

async function sumSizes(db: Db): Promise<number> {
  const row = await db
    .selectFrom("blobs")
    .select((eb) => eb.fn.sum<number | string | null>("size").as("total"))
    .executeTakeFirstOrThrow();
  return Number(row.total ?? 0);
}
