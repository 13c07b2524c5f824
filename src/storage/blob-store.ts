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

  createUpload(id: string): Promise<void>;
  /** Size of an upload's data so far, or null when the upload does not exist. */
  uploadSize(id: string): Promise<number | null>;
  /**
   * Appends the stream to the upload, which must currently be `offset` bytes long. All or nothing: if the
   * stream fails, the upload is cut back to `offset`. Returns the new size.
   */
  appendUpload(id: string, offset: number, source: Readable): Promise<number>;
  readUpload(id: string): Promise<Readable>;
  /**
   * Makes the upload's data the blob `digest` (already verified by the caller) and removes the upload,
   * atomically replacing any copy already stored: that copy may have gone bad since it was written.
   */
  commitUpload(id: string, digest: string): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /** Upload ids present in storage, for cleaning up uploads whose session is gone. */
  listUploads(): Promise<string[]>;
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
