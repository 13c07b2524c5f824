import { setTimeout as sleep } from "node:timers/promises";
import {
  buildIndexArtifact,
  emptyIndex,
  INDEX_TAG,
  indexRepository,
  type IndexDocument,
} from "../../oci/index-artifact/index.js";
import { WharfError } from "../errors.js";
import type { RegistryClient } from "../registry.js";
import { bufferSource } from "../sources.js";
import { readIndex } from "./read.js";

/** A change to an index: `apply` merges it into a document, `applied` checks a document still has it. */
export interface IndexChange {
  describe: string;
  apply(doc: IndexDocument): IndexDocument;
  applied(doc: IndexDocument): boolean;
}

export interface UpdateOptions {
  /** Write attempts before giving up (default 8). */
  attempts?: number;
  /** First backoff; doubled each attempt and jittered (default 100 ms). */
  baseDelayMs?: number;
  /** Hears about lost races (verbose output). */
  onRetry?: (message: string) => void;
  /** For tests: the random source for jitter. */
  random?: () => number;
}

export interface UpdateResult {
  repository: string;
  digest: string;
  attempts: number;
  entries: number;
}

export class IndexUpdateError extends WharfError {}

/**
 * Applies a change to `<namespace>/index:latest`. Registries have no conditional PUT, so two writers
 * may each read, merge and write, and the later write drops the earlier one's change. Each writer
 * therefore writes, waits a jittered moment (long enough for a writer that read before our write to
 * have written too), re-reads, and when its change is gone merges it again into what is there now.
 * Every merge starts from the latest document, so another writer's entries are never dropped by us.
 */
export async function updateIndex(
  registry: RegistryClient,
  namespace: string,
  change: IndexChange,
  options: UpdateOptions = {},
): Promise<UpdateResult> {
  const repository = indexRepository(namespace);
  const attempts = options.attempts ?? 8;
  const base = options.baseDelayMs ?? 100;
  const random = options.random ?? Math.random;
  let read = await readIndex(registry, namespace);
  const doc = () => read?.doc ?? emptyIndex(namespace);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1 && read && change.applied(read.doc)) {
      // Another writer's merge already carries our change: nothing to write.
      return { repository, digest: read.digest, attempts: attempt - 1, entries: read.doc.entries.length };
    }
    const started = Date.now();
    const digest = await write(registry, repository, change.apply(doc()));
    // Settle: writers that read before our write finish theirs within about one round trip of ours.
    // Never less than twice our own write time, and confirmed by two reads a settle apart: a writer
    // slowed down between its read and its write is the one that can still drop our change.
    const settle = Math.max(base, 2 * (Date.now() - started));
    let survived = true;
    for (let check = 0; check < 2 && survived; check++) {
      await sleep(settle * (1 + random()));
      read = await readIndex(registry, namespace);
      survived = change.applied(doc());
    }
    if (survived) return { repository, digest, attempts: attempt, entries: doc().entries.length };
    options.onRetry?.(
      `${registry.host}/${repository}:${INDEX_TAG} was rewritten by another writer: merging ${change.describe} again`,
    );
    await sleep(base * 2 ** (attempt - 1) * (0.5 + random()));
    read = await readIndex(registry, namespace);
  }
  throw new IndexUpdateError(
    `${registry.host}/${repository}:${INDEX_TAG}: ${change.describe} was overwritten by other writers ${attempts} times; run the command again with --index to retry`,
  );
}

async function write(registry: RegistryClient, repository: string, doc: IndexDocument): Promise<string> {
  const built = buildIndexArtifact(doc);
  for (const blob of [built.config, built.layer]) {
    await registry.pushBlob(repository, blob, bufferSource(blob.bytes));
  }
  const { digest } = await registry.putManifest(repository, INDEX_TAG, {
    bytes: built.manifest.bytes,
    mediaType: built.manifest.mediaType,
    digest: built.manifest.digest,
  });
  return digest;
}
