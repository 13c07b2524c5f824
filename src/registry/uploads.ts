import { randomUUID } from "node:crypto";
import { pipeline } from "node:stream";
import type { Readable } from "node:stream";
import { RegistryError } from "../oci/errors.js";
import { createDigester, type DigestAlgorithm, type ParsedDigest } from "../oci/digest.js";
import type { AppendResult, BlobStore, UploadState } from "../storage/blob-store.js";
import { StorageFullError, UploadNotFoundError } from "../storage/blob-store.js";
import type { Db } from "../metadata/database.js";
import { linkedBlob } from "../metadata/blobs.js";
import { beingCollected, type BlobStates } from "./gc/blob-states.js";
import * as uploads from "../metadata/uploads.js";
import { DigestingStream, type ByteSink } from "./digesting-stream.js";
import { resumableSha256, type ResumableHash } from "./resumable-hash.js";
import { batches } from "../metadata/batches.js";
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

/** The algorithm whose state is saved between chunks; others are computed by reading the upload back. */
const RESUMABLE_ALGORITHM: DigestAlgorithm = "sha256";
/** A write's lease on its upload; renewed while the body streams, so only a dead node's lapses. */
const LEASE_MS = 15_000;
/**
 * Upload data without a session is removed once this old: younger, it may belong to an upload another
 * node has just created and not yet recorded.
 */
const ORPHAN_GRACE_MS = 10 * 60_000;
/** Sessions removed per expiry pass, per statement. */
const EXPIRY_BATCH = 200;

interface Progress {
  size: number;
  hashState: Buffer | null;
  storeState: UploadState;
}

/**
 * Blob upload sessions: start, append chunks, complete with digest verification, cancel, mount.
 * Everything about a session is in the database (size, saved SHA-256 state, the store's own state), so
 * any node may continue or complete an upload another node started. One request at a time may write to
 * a session (a lease in its row); a concurrent one is refused rather than interleaved.
 */
export class UploadService {
  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    /** Held while a blob file is replaced, so a storage verification never quarantines a fresh copy. */
    private readonly commits: KeyedLock,
    /** Claims and links blobs against a concurrent garbage collection (see blob-states.ts). */
    private readonly states: BlobStates,
  ) {}

  async start(repository: string): Promise<string> {
    requireRepositoryName(repository);
    const id = randomUUID();
    let state: UploadState;
    try {
      state = await this.store.createUpload(id);
    } catch (err) {
      throw err instanceof StorageFullError ? storageFull() : err;
    }
    try {
      await uploads.insertUpload(this.db, id, repository, state);
    } catch (err) {
      await this.store.deleteUpload(id, state).catch(() => undefined);
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
      const session = await uploads.findUpload(this.db, id).catch(() => null);
      if (session) await this.discard(session).catch(() => undefined);
      throw err;
    }
  }

  /** Links `digest` from `from` when that repository has it; otherwise opens an ordinary session. */
  async mount(repository: string, digest: string, from: string): Promise<MountResult> {
    requireRepositoryName(repository);
    const parsed = requireDigest(digest);
    requireRepositoryName(from);
    const source = await linkedBlob(this.db, from, parsed.digest);
    if (source !== null && (await this.store.stat(parsed.digest)) !== null) {
      // The mount relies on the source's link too: refreshed like a read that skips an upload.
      await this.states.refresh(from, parsed.digest, source);
      // Refused when a sweep claimed the blob meanwhile: then it is an upload like any other.
      const outcome = await this.db
        .transaction()
        .execute((trx) => this.states.link(trx, repository, parsed.digest));
      if (outcome !== "refused") return { mounted: true, digest: parsed.digest };
    }
    return { mounted: false, id: await this.start(repository) };
  }

  /** Bytes received so far. */
  async status(repository: string, id: string): Promise<number> {
    return (await this.session(repository, id)).size;
  }

  async append(repository: string, id: string, body: Readable, chunk: ChunkOptions): Promise<number> {
    const progress = await this.leased(repository, id, (session, token, lost) =>
      this.appendLeased(session, token, body, chunk, "resumable", lost),
    );
    return progress.size;
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
    return this.leased(repository, id, (session, token, lost) =>
      this.completeLeased(repository, session, token, parsed, body, chunk, lost),
    );
  }

  private async completeLeased(
    repository: string,
    session: uploads.UploadSession,
    token: string,
    parsed: ParsedDigest,
    body: Readable | undefined,
    chunk: ChunkOptions,
    lost: AbortSignal,
  ): Promise<{ digest: string; size: number }> {
    let progress: Progress = session;
    let digested: string | undefined;
    if (body) {
      // The whole blob in this request: node:crypto (several times faster), nothing to save for later.
      const whole = session.size === 0 && parsed.algorithm === RESUMABLE_ALGORITHM;
      const fast = whole ? createDigester(RESUMABLE_ALGORITHM) : undefined;
      progress = await this.appendLeased(session, token, body, chunk, fast ?? "resumable", lost);
      if (fast) digested = `${RESUMABLE_ALGORITHM}:${fast.digest("hex")}`;
    }
    const actual = digested ?? (await this.digestOf(session.id, parsed.algorithm, progress));
    if (actual !== parsed.digest) {
      await this.discard({ ...session, ...progress });
      throw new RegistryError("DIGEST_INVALID", "uploaded content does not match the digest", {
        expected: parsed.digest,
        actual,
      });
    }
    // The last moment to find out this request no longer owns the upload, before it becomes a blob.
    if (
      lost.aborted ||
      !(await uploads.renewLease(this.db, session.id, token, new Date(Date.now() + LEASE_MS)))
    ) {
      throw leaseLost();
    }
    // Claimed before the bytes are committed, so a sweep cannot delete them unseen (blob-states.ts).
    const generation = await this.states.claim(parsed.digest, progress.size);
    // Always replace the stored copy, even one of the right size: it may have gone bad on disk, and the
    // verified upload repairs it for the cost of a rename (no more than deleting the upload would be).
    await this.commits.run(parsed.digest, () =>
      this.store.commitUpload(session.id, progress.storeState, parsed.digest, progress.size),
    );
    const outcome = await this.db.transaction().execute(async (trx) => {
      const linked = await this.states.link(trx, repository, parsed.digest, generation);
      // The session goes either way: its data has become the blob.
      await uploads.deleteUpload(trx, session.id);
      return linked;
    });
    // Collected between the claim and the link (the commit took longer than the grace window): never a 201.
    if (outcome === "refused") throw beingCollected(parsed.digest);
    return { digest: parsed.digest, size: progress.size };
  }

  /**
   * Runs `work` on a session; when storage is full (the blob store's disk, or the metadata database's)
   * the session is released with its data, since it holds space the registry needs and the client must
   * start again once there is room anyway. Its data goes first: on a full disk deleting the session's
   * row may fail too, and a row without data answers BLOB_UPLOAD_UNKNOWN and is dropped at its TTL. A
   * blob committed but not linked stays in storage, unreferenced.
   */
  private async releasedWhenFull<T>(session: uploads.UploadSession, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof StorageFullError)) throw err;
      await this.discard(session).catch((cleanup: unknown) => {
        if (!(cleanup instanceof StorageFullError)) throw cleanup;
      });
      throw storageFull();
    }
  }

  async cancel(repository: string, id: string): Promise<void> {
    await this.leased(repository, id, (session) => this.discard(session));
  }

  /**
   * Removes sessions idle since before `cutoff` (with their data) that no request is writing to, then
   * upload data older than that whose session is gone (a crash between storing and recording it). Any
   * node may run it at any time. Returns how many sessions it removed.
   */
  async expire(cutoff: Date): Promise<number> {
    let removed = 0;
    for (;;) {
      const stale = await uploads.staleUploads(this.db, cutoff.toISOString(), EXPIRY_BATCH);
      for (const session of stale) {
        const token = randomUUID();
        // Leased first, and only while still idle: a request that wrote meanwhile (on any node) keeps it.
        const until = new Date(Date.now() + LEASE_MS);
        if (!(await uploads.acquireLease(this.db, session.id, token, until, cutoff.toISOString()))) continue;
        await this.discard(session);
        removed++;
      }
      if (stale.length < EXPIRY_BATCH) break;
    }
    const orphanCutoff = new Date(Math.max(cutoff.getTime(), Date.now() - ORPHAN_GRACE_MS));
    const stored = await this.store.listUploads(orphanCutoff);
    for (const slice of batches(stored)) {
      const known = await uploads.existingUploadIds(this.db, slice);
      for (const id of slice) if (!known.has(id)) await this.store.deleteUpload(id, null);
    }
    return removed;
  }

  /**
   * Releases every write lease. Only for a node that knows it is alone on its database (the embedded
   * one, holding the data directory's lock) at start-up: the leases are a crashed predecessor's.
   */
  async releaseAllLeases(): Promise<void> {
    await uploads.releaseAllLeases(this.db);
  }

  private async appendLeased(
    session: uploads.UploadSession,
    token: string,
    body: Readable,
    chunk: ChunkOptions,
    hashing: ByteSink | "resumable",
    lost?: AbortSignal,
  ): Promise<Progress> {
    const offset = session.size;
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
    // A resumable hash continues from the saved state; without one (an earlier chunk came in a request
    // that hashed with node:crypto) the digest is computed from the data at completion.
    let resumable: ResumableHash | undefined;
    if (hashing === "resumable") {
      if (offset === 0) resumable = await resumableSha256();
      else if (session.hashState) resumable = await resumableSha256(session.hashState);
    }
    const counter = new DigestingStream(hashing === "resumable" ? resumable : hashing);
    const source =
      declared === undefined
        ? pipeline(body, counter, () => undefined)
        : pipeline(body, new DeclaredLength(declared), counter, () => undefined);
    const stop = () => source.destroy(lost?.reason as Error);
    lost?.addEventListener("abort", stop, { once: true });
    let result: AppendResult;
    try {
      result = await this.store.appendUpload(session.id, session.storeState, offset, source);
    } catch (err) {
      resumable?.close();
      // Whatever the store did not read of the body is discarded, so that the error response goes out.
      source.destroy();
      if (lost?.aborted) throw lost.reason as Error;
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
    lost?.removeEventListener("abort", stop);
    const hashState = resumable ? await resumable.save() : null;
    resumable?.close();
    const progress = { size: result.size, hashState, storeState: result.state };
    if (!(await uploads.saveProgress(this.db, session.id, token, progress))) throw leaseLost();
    return progress;
  }

  private async digestOf(id: string, algorithm: DigestAlgorithm, progress: Progress): Promise<string> {
    if (algorithm === RESUMABLE_ALGORITHM && (progress.hashState || progress.size === 0)) {
      const hash = await resumableSha256(progress.hashState ?? undefined);
      return `${algorithm}:${await hash.hex()}`;
    }
    const hash = createDigester(algorithm);
    const data = await this.store.readUpload(id, progress.storeState, progress.size);
    for await (const chunk of data) hash.update(chunk as Buffer);
    return `${algorithm}:${hash.digest("hex")}`;
  }

  private async discard(session: { id: string; storeState: UploadState }): Promise<void> {
    await this.store.deleteUpload(session.id, session.storeState);
    await uploads.deleteUpload(this.db, session.id);
  }

  private async session(repository: string, id: string): Promise<uploads.UploadSession> {
    requireRepositoryName(repository);
    const session = await uploads.findUpload(this.db, id);
    if (!session || session.repository !== repository) throw unknownUpload();
    return session;
  }

  /**
   * Runs `work` holding the session's write lease, with the session as it is once the lease is held.
   * The lease is renewed while work runs (a long body), and lapses by itself if this node dies.
   */
  private async leased<T>(
    repository: string,
    id: string,
    work: (session: uploads.UploadSession, token: string, lost: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const found = await this.session(repository, id);
    return this.releasedWhenFull(found, () => this.leasedUnguarded(repository, id, work));
  }

  private async leasedUnguarded<T>(
    repository: string,
    id: string,
    work: (session: uploads.UploadSession, token: string, lost: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const token = randomUUID();
    if (!(await uploads.acquireLease(this.db, id, token, new Date(Date.now() + LEASE_MS)))) {
      await this.session(repository, id);
      throw new RegistryError(
        "BLOB_UPLOAD_INVALID",
        "another request is writing to this upload",
        undefined,
        416,
      );
    }
    // A lease that could not be renewed (it lapsed: this node stalled) stops the work: another request
    // may own the upload now, and writing on would mix two writers' bytes.
    const lost = new AbortController();
    const renewal = setInterval(() => {
      uploads.renewLease(this.db, id, token, new Date(Date.now() + LEASE_MS)).then(
        (held) => (held ? undefined : lost.abort(leaseLost())),
        () => undefined,
      );
    }, LEASE_MS / 4);
    renewal.unref();
    const session = await this.session(repository, id);
    try {
      return await work(session, token, lost.signal);
    } catch (err) {
      if (!(err instanceof StorageFullError)) throw err;
      // Released with its data while the lease is still held, so no other request is writing to it.
      await this.discard(session).catch((cleanup: unknown) => {
        if (!(cleanup instanceof StorageFullError)) throw cleanup;
      });
      throw storageFull();
    } finally {
      clearInterval(renewal);
      await uploads.releaseLease(this.db, id, token).catch(() => undefined);
    }
  }
}

function leaseLost(): RegistryError {
  return new RegistryError(
    "BLOB_UPLOAD_INVALID",
    "this request lost its hold on the upload (it took longer than the lease); check the upload's " +
      "status and resume",
    undefined,
    416,
  );
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
