import type { Readable } from "node:stream";

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * Content-addressed blob storage. Blobs are immutable once committed; uploads are append-only scratch
 * files that become a blob only through commitUpload, atomically, so a crash never exposes half a blob.
 * Callers verify digests (they hash the bytes as they stream through); the store only moves them.
 */
export interface BlobStore {
  /** Size of a committed blob, or null when absent. */
  stat(digest: string): Promise<{ size: number } | null>;
  /** Stream a committed blob, or a byte range of it. Throws BlobNotFoundError when absent. */
  read(digest: string, range?: ByteRange): Promise<Readable>;
  /**
   * Random access to a committed blob, for senders that read into buffers they reuse (a stream allocates
   * a buffer per chunk, and collecting them cost half the throughput of big pulls). Stores that can only
   * stream leave it out. Throws BlobNotFoundError when absent.
   */
  openReader?(digest: string): Promise<BlobReader>;
  delete(digest: string): Promise<void>;
  /**
   * Takes a committed blob out of service: afterwards it is absent (stat null, reads BlobNotFoundError)
   * but its bytes are kept aside for inspection. Committing the digest again puts a good copy back.
   * Nothing happens when the blob is absent already.
   */
  quarantine(digest: string): Promise<void>;

  /**
   * Upload sessions. The database is the source of truth for an upload (its size, and this opaque
   * `UploadState` the store returns): any node may continue or complete an upload another started, so a
   * store keeps nothing about uploads in process memory. Each call that changes the upload returns the
   * new state, which the caller persists before acknowledging the request; a state the caller never
   * persisted (the request failed) must leave the last persisted one usable.
   */
  createUpload(id: string): Promise<UploadState>;
  /**
   * Appends the stream to the upload, which is `offset` bytes long in `state`. All or nothing as far as
   * the persisted state is concerned: if the stream fails, the previous state still describes `offset`
   * bytes (the store may leave garbage that only a later state would have referred to). Returns the new
   * size and state.
   */
  appendUpload(id: string, state: UploadState, offset: number, source: Readable): Promise<AppendResult>;
  /** The upload's `size` bytes, from the start. */
  readUpload(id: string, state: UploadState, size: number): Promise<Readable>;
  /**
   * Makes the upload's `size` bytes the blob `digest` (already verified by the caller) and removes the
   * upload, atomically replacing any copy already stored: that copy may have gone bad since it was
   * written. The blob's key never holds partial content.
   */
  commitUpload(id: string, state: UploadState, digest: string, size: number): Promise<void>;
  /** Removes the upload's data; `state` is null when the caller has none (the session row is gone). */
  deleteUpload(id: string, state: UploadState | null): Promise<void>;
  /**
   * Uploads present in storage and last changed before `before`, for removing data whose session is
   * gone (a crash between creating the data and recording the session).
   */
  listUploads(before: Date): Promise<string[]>;
  /**
   * Committed blobs in digest order after `after`, at most `limit`, with when each was last written: the
   * garbage collector pages through them for files the database does not know.
   */
  listBlobs(after: string | undefined, limit: number): Promise<StoredBlob[]>;
  /**
   * A URL the client may GET the blob from directly (a presigned object-store URL), for redirects;
   * stores that cannot hand out URLs leave it out. Range headers sent to the URL are honoured.
   */
  presignedUrl?(digest: string, method: "GET"): Promise<string>;
}

export interface StoredBlob {
  digest: string;
  size: number;
  modified: Date;
}

/** What a store needs to continue an upload (JSON-serialisable; null when it needs nothing). */
export type UploadState = string | null;

export interface AppendResult {
  size: number;
  state: UploadState;
}

export interface BlobReader {
  /** Reads up to `length` bytes at `position` into the start of `buffer`; 0 at the end of the blob. */
  read(buffer: Buffer, position: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly digest: string) {
    super(`blob not found: ${digest}`);
  }
}

/** The storage has no room left (a full disk, a quota): what the failed write added was rolled back. */
export class StorageFullError extends Error {}

export class UploadNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`upload not found: ${id}`);
  }
}
