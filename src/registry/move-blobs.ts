import { createHash, randomUUID } from "node:crypto";
import { pipeline } from "node:stream";
import type { Db } from "../metadata/database.js";
import { countRows, keyOf, MOVED_TABLES, readPage, type MovedTable } from "../metadata/move-tables.js";
import { BlobNotFoundError, type BlobStore } from "../storage/blob-store.js";
import { parseDigest } from "../oci/digest.js";
import { DigestingStream } from "./digesting-stream.js";
import type { MoveOptions, MoveSide } from "./move.js";

/** The blobs phase of a move: every blob the source's table lists, streamed and re-hashed into the target. */

export interface BlobProblem {
  digest: string;
  size: number;
  problem: "corrupt" | "missing";
  detail: string;
}

/** Most problems listed; a source with more is in no state to move anyway. */
export const MAX_PROBLEMS = 1000;
const DEFAULT_CONCURRENCY = 4;
const BLOBS = MOVED_TABLES.find((t) => t.name === "blobs") as MovedTable;

export async function copyBlobs(source: MoveSide, target: MoveSide, options: MoveOptions) {
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
  const verifyExisting = options.verifyExisting === true;
  for await (const page of blobRows(source.db)) {
    await eachConcurrently(page, options.concurrency ?? DEFAULT_CONCURRENCY, async (blob) => {
      const outcome = await moveBlob(source.store, target.store, blob, verifyExisting, advance);
      if (typeof outcome === "object") {
        failed.add(outcome.digest);
        if (problems.length < MAX_PROBLEMS) problems.push(outcome);
      } else if (outcome === "copied") {
        report.copied += 1;
        report.bytesCopied += blob.size;
      } else {
        report.skipped += 1;
        if (outcome === "verified") report.verified += 1;
      }
    });
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

/** Every blob row of `db`, page by page (a page at a time in memory). */
export async function* blobRows(db: Db): AsyncGenerator<{ digest: string; size: number }[]> {
  let after: unknown[] | undefined;
  for (;;) {
    const page = await readPage(db, BLOBS, after);
    if (page.length === 0) return;
    after = keyOf(BLOBS, page[page.length - 1] as Record<string, unknown>);
    yield page.map((row) => ({ digest: String(row.digest), size: Number(row.size) }));
  }
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
export async function eachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function sumSizes(db: Db): Promise<number> {
  const row = await db
    .selectFrom("blobs")
    .select((eb) => eb.fn.sum<number | string | null>("size").as("total"))
    .executeTakeFirstOrThrow();
  return Number(row.total ?? 0);
}
