import { randomUUID, type Hash } from "node:crypto";
import { pipeline } from "node:stream";
import type { Readable } from "node:stream";
import { RegistryError } from "../oci/errors.js";
import { createDigester, type DigestAlgorithm, type ParsedDigest } from "../oci/digest.js";
import type { BlobStore } from "../storage/blob-store.js";
import { StorageFullError, UploadNotFoundError } from "../storage/blob-store.js";
import type { Db } from "../metadata/database.js";
import { linkBlob, linkedBlobSize } from "../metadata/blobs.js";
import * as uploads from "../metadata/uploads.js";
import { DigestingStream } from "./digesting-stream.js";
import type { KeyedLock } from "./keyed-lock.js";
import { ChunkLengthError, DeclaredLength, IncompleteBodyError } from "./declared-length.js";
import { requireDigest, requireRepositoryName } from "./validation.js";

export interface ChunkOptions {
  /** First byte offset the client claims for this chunk (Content-Range), if it sent one. */
  rangeStart?: number;
  rangeEnd?: number;
  contentLength?: number;
}

export type MountResult = { mounted: true; digest: string } | { mounted: false; id: string };

/** A hash kept in memory between chunks so that completing an upload needs no second read of the data. */
interface RunningHash {
  hash: Hash;
  offset: number;
}

/** The algorithm hashed while streaming; others are computed by reading the upload back at the end. */
const STREAMING_ALGORITHM: DigestAlgorithm = "sha256";

/**
 * Blob upload sessions: start, append chunks, complete with digest verification, cancel, mount.
 * One request at a time may write to a session; a concurrent one is refused rather than interleaved.
 */
export class UploadService {
  private readonly running = new Map<string, RunningHash>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    /** Held while a blob file is replaced, so a storage verification never quarantines a fresh copy. */
    private readonly commits: KeyedLock,
  ) {}

  async start(repository: string): Promise<string> {
    requireRepositoryName(repository);
    const id = randomUUID();
    try {
      await this.store.createUpload(id);
    } catch (err) {
      throw err instanceof StorageFullError ? storageFull() : err;
    }
    try {
      await uploads.insertUpload(this.db, id, repository);
    } catch (err) {
      await this.store.deleteUpload(id);
      throw err instanceof StorageFullError ? storageFull() : err;
    }
    return id;
  }

  /**
   * A whole blob in one request (POST ?digest=). Everything that can be checked is checked before a
   * session exists, and a refused upload takes its session and data with it: the client never learnt
   * the session's id, so nothing else could ever use or cancel it.
   */
  async upload(
    repository: string,
    digest: string,
    body: Readable | undefined,
    chunk: ChunkOptions,
  ): Promise<{ digest: string; size: number }> {
    requireRepositoryName(repository);
    requireDigest(digest);
    const id = await this.start(repository);
    try {
      return await this.complete(repository, id, digest, body, chunk);
    } catch (err) {
      // The refusal is what the client must see; a session left over is removed at its TTL anyway.
      await this.discard(id).catch(() => undefined);
      throw err;
    }
  }

  /** Links `digest` from `from` when that repository has it; otherwise opens an ordinary session. */
  async mount(repository: string, digest: string, from: string): Promise<MountResult> {
    requireRepositoryName(repository);
    const parsed = requireDigest(digest);
    requireRepositoryName(from);
    const size = await linkedBlobSize(this.db, from, parsed.digest);
    if (size !== null && (await this.store.stat(parsed.digest)) !== null) {
      await this.db.transaction().execute((trx) => linkBlob(trx, repository, parsed.digest, size));
      return { mounted: true, digest: parsed.digest };
    }
    return { mounted: false, id: await this.start(repository) };
  }

  /** Bytes received so far. */
  async status(repository: string, id: string): Promise<number> {
    await this.session(repository, id);
    return this.currentSize(id);
  }

  async append(repository: string, id: string, body: Readable, chunk: ChunkOptions): Promise<number> {
    await this.session(repository, id);
    return this.exclusive(id, () => this.releasedWhenFull(id, () => this.appendUnlocked(id, body, chunk)));
  }

  /** Appends an optional last chunk, verifies the digest and makes the blob visible in the repository. */
  async complete(
    repository: string,
    id: string,
    digest: string,
    body: Readable | undefined,
    chunk: ChunkOptions,
  ): Promise<{ digest: string; size: number }> {
    const parsed = requireDigest(digest);
    await this.session(repository, id);
    return this.exclusive(id, () =>
      this.releasedWhenFull(id, () => this.completeUnlocked(repository, id, parsed, body, chunk)),
    );
  }

  private async completeUnlocked(
    repository: string,
    id: string,
    parsed: ParsedDigest,
    body: Readable | undefined,
    chunk: ChunkOptions,
  ): Promise<{ digest: string; size: number }> {
    if (body) await this.appendUnlocked(id, body, chunk);
    const size = await this.currentSize(id);
    const actual = await this.digestOf(id, parsed.algorithm, size);
    if (actual !== parsed.digest) {
      await this.discard(id);
      throw new RegistryError("DIGEST_INVALID", "uploaded content does not match the digest", {
        expected: parsed.digest,
        actual,
      });
    }
    // Always replace the stored copy, even one of the right size: it may have gone bad on disk, and the
    // verified upload repairs it for the cost of a rename (no more than deleting the upload would be).
    await this.commits.run(parsed.digest, () => this.store.commitUpload(id, parsed.digest));
    await this.db.transaction().execute(async (trx) => {
      await linkBlob(trx, repository, parsed.digest, size);
      await uploads.deleteUpload(trx, id);
    });
    this.running.delete(id);
    return { digest: parsed.digest, size };
  }

  /**
   * Runs `work` on a session; when storage is full (the blob store's disk, or the metadata database's)
   * the session is released with its data, since it holds space the registry needs and the client must
   * start again once there is room anyway. Its data goes first: on a full disk deleting the session's
   * row may fail too, and a row without data answers BLOB_UPLOAD_UNKNOWN and is dropped at the next
   * start or at its TTL. A blob committed but not linked stays in storage, unreferenced.
   */
  private async releasedWhenFull<T>(id: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof StorageFullError)) throw err;
      await this.discard(id).catch((cleanup: unknown) => {
        if (!(cleanup instanceof StorageFullError)) throw cleanup;
      });
      throw storageFull();
    }
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.session(repository, id);
    await this.exclusive(id, () => this.discard(id));
  }

  /** Removes sessions idle since before `cutoff`, with their data. Returns how many. */
  async expire(cutoff: Date): Promise<number> {
    const stale = await uploads.staleUploadIds(this.db, cutoff.toISOString());
    for (const id of stale.filter((s) => !this.busy.has(s))) await this.discard(id);
    return stale.length;
  }

  /** At start-up, before serving: drops upload data without a session and sessions without data. */
  async reconcile(): Promise<void> {
    const sessions = new Set(await uploads.allUploadIds(this.db));
    const stored = new Set(await this.store.listUploads());
    for (const id of stored) if (!sessions.has(id)) await this.store.deleteUpload(id);
    for (const id of sessions) if (!stored.has(id)) await uploads.deleteUpload(this.db, id);
  }

  private async appendUnlocked(id: string, body: Readable, chunk: ChunkOptions): Promise<number> {
    const offset = await this.currentSize(id);
    let declared: number | undefined;
    if (chunk.rangeStart !== undefined) {
      if (chunk.rangeStart !== offset) {
        throw new RegistryError(
          "BLOB_UPLOAD_INVALID",
          `chunk starts at ${chunk.rangeStart} but the upload has ${offset} bytes`,
          { size: offset },
          416,
        );
      }
      declared = (chunk.rangeEnd ?? -1) - chunk.rangeStart + 1;
      if (chunk.contentLength !== undefined && declared !== chunk.contentLength) {
        throw new RegistryError(
          "BLOB_UPLOAD_INVALID",
          "Content-Range does not match Content-Length",
          undefined,
          416,
        );
      }
    }
    const running = this.runningHashAt(id, offset);
    const counter = new DigestingStream(running?.hash);
    const source =
      declared === undefined
        ? pipeline(body, counter, () => undefined)
        : pipeline(body, new DeclaredLength(declared), counter, () => undefined);
    let size: number;
    try {
      size = await this.store.appendUpload(id, offset, source);
    } catch (err) {
      // Whatever the store did not read of the body is discarded, so that the error response goes out.
      source.destroy();
      // The hash saw bytes the store rolled back: forget it and re-read the data at completion.
      this.running.delete(id);
      if (err instanceof UploadNotFoundError) throw unknownUpload();
      if (err instanceof ChunkLengthError) {
        throw new RegistryError("BLOB_UPLOAD_INVALID", err.message, { size: offset }, 416);
      }
      if (err instanceof IncompleteBodyError) {
        throw new RegistryError(
          "BLOB_UPLOAD_INVALID",
          `upload body was not received completely: ${describe(err)}`,
        );
      }
      throw err;
    }
    if (running) running.offset = size;
    await uploads.touchUpload(this.db, id);
    return size;
  }

  private runningHashAt(id: string, offset: number): RunningHash | undefined {
    const existing = this.running.get(id);
    if (existing?.offset === offset) return existing;
    this.running.delete(id);
    if (offset !== 0) return undefined;
    const fresh = { hash: createDigester(STREAMING_ALGORITHM), offset: 0 };
    this.running.set(id, fresh);
    return fresh;
  }

  private async digestOf(id: string, algorithm: DigestAlgorithm, size: number): Promise<string> {
    const running = this.running.get(id);
    if (algorithm === STREAMING_ALGORITHM && running?.offset === size) {
      return `${algorithm}:${running.hash.digest("hex")}`;
    }
    this.running.delete(id);
    const hash = createDigester(algorithm);
    for await (const chunk of await this.store.readUpload(id)) hash.update(chunk as Buffer);
    return `${algorithm}:${hash.digest("hex")}`;
  }

  private async discard(id: string): Promise<void> {
    this.running.delete(id);
    await this.store.deleteUpload(id);
    await uploads.deleteUpload(this.db, id);
  }

  private async session(repository: string, id: string): Promise<void> {
    requireRepositoryName(repository);
    const session = await uploads.findUpload(this.db, id);
    if (!session || session.repository !== repository) throw unknownUpload();
  }

  private async currentSize(id: string): Promise<number> {
    const size = await this.store.uploadSize(id);
    if (size === null) throw unknownUpload();
    return size;
  }

  private async exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) {
      throw new RegistryError(
        "BLOB_UPLOAD_INVALID",
        "another request is writing to this upload",
        undefined,
        416,
      );
    }
    this.busy.add(id);
    try {
      return await work();
    } finally {
      this.busy.delete(id);
    }
  }
}

function storageFull(): RegistryError {
  return new RegistryError(
    "UNKNOWN",
    "storage is full: the registry has no space left for this upload, which was discarded; push again " +
      "once space has been freed",
    undefined,
    507,
  );
}

function unknownUpload(): RegistryError {
  return new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session not found");
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
