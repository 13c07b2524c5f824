import type { Readable } from "node:stream";
import { RegistryError } from "../oci/errors.js";
import { BlobNotFoundError, type BlobReader, type BlobStore, type ByteRange } from "../storage/blob-store.js";
import type { Db } from "../metadata/database.js";
import { linkedBlob, unlinkBlob } from "../metadata/blobs.js";
import { findManifest } from "../metadata/manifests.js";
import type { ImmutableTags } from "./immutable/service.js";
import type { BlobStates } from "./gc/blob-states.js";
import type { QuotaService } from "./quotas/service.js";
import { requireDigest, requireRepositoryName } from "./validation.js";

export interface BlobInfo {
  digest: string;
  size: number;
  /** Set when the digest names a manifest, which is served from the database rather than the store. */
  manifest?: { content: Buffer; mediaType: string };
}

/** Random access through a reader (the whole blob; the sender picks the range), or a stream of the range. */
export type BlobContent = { reader: BlobReader } | { stream: Readable };

export class BlobService {
  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    /** A blob an immutable tag's manifest references is not unlinked (the tag would serve a hole). */
    private readonly immutable: ImmutableTags,
    /** A HEAD or GET lets a client skip an upload: it keeps the blob from looking unused (gc). */
    private readonly states: BlobStates,
    /** An unlinked blob stops counting towards its namespaces' quotas, in the unlink's transaction. */
    private readonly quotas: QuotaService,
  ) {}

  /** The blob's size if the repository may serve it; manifests count too, as Distribution serves them. */
  async stat(repository: string, digest: string): Promise<BlobInfo> {
    requireRepositoryName(repository);
    const parsed = requireDigest(digest);
    // A blob being garbage-collected is not linked as far as reads go: the client pushes it again.
    const linked = await linkedBlob(this.db, repository, parsed.digest);
    // Linked but lost from storage counts as unknown, so that HEAD agrees with GET and clients push it again.
    if (linked !== null && (await this.store.stat(parsed.digest)) !== null) {
      await this.states.refresh(repository, parsed.digest, linked);
      return { digest: parsed.digest, size: linked.size };
    }
    const manifest = await findManifest(this.db, repository, parsed.digest);
    if (manifest) {
      return { digest: parsed.digest, size: manifest.size, manifest: manifest };
    }
    throw blobUnknown(parsed.digest);
  }

  /** The blob's bytes for a GET: random access when the store offers it (see BlobReader), else a stream. */
  async content(info: BlobInfo, range?: ByteRange): Promise<BlobContent> {
    try {
      if (this.store.openReader) return { reader: await this.store.openReader(info.digest) };
      return { stream: await this.store.read(info.digest, range) };
    } catch (err) {
      // Linked in the database but gone from storage: report it as missing rather than failing.
      if (err instanceof BlobNotFoundError) throw blobUnknown(info.digest);
      throw err;
    }
  }

  /**
   * A stream of a blob the repository links (its first `limit` bytes, if given), for reading its content on the server
   * (the discovery API's file views). Not a client's GET: it neither counts as a use of the blob (gc) nor
   * serves manifests. Throws BLOB_UNKNOWN when the repository does not link it.
   */
  async open(
    repository: string,
    digest: string,
    limit?: number,
  ): Promise<{ size: number; stream: Readable }> {
    requireRepositoryName(repository);
    const parsed = requireDigest(digest);
    const linked = await linkedBlob(this.db, repository, parsed.digest);
    if (linked === null) throw blobUnknown(parsed.digest);
    try {
      const range = limit !== undefined && linked.size > limit ? { start: 0, end: limit - 1 } : undefined;
      return { size: linked.size, stream: await this.store.read(parsed.digest, range) };
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw blobUnknown(parsed.digest);
      throw err;
    }
  }

  /**
   * A URL the client may fetch the blob from itself (a presigned object-store URL), when the store hands
   * those out; undefined means serve it. Call only after stat(), which checked the repository has it.
   */
  async redirect(info: BlobInfo): Promise<string | undefined> {
    if (info.manifest || !this.store.presignedUrl) return undefined;
    return this.store.presignedUrl(info.digest, "GET");
  }

  /** Unlinks the blob from the repository; its bytes go when no repository links it (garbage collection). */
  async delete(repository: string, digest: string): Promise<void> {
    requireRepositoryName(repository);
    const parsed = requireDigest(digest);
    const unlinked = await this.db.transaction().execute(async (trx) => {
      await this.immutable.requireNotPartOfImmutable(trx, repository, parsed.digest, "blob");
      const removed = await unlinkBlob(trx, repository, parsed.digest);
      if (removed) await this.quotas.removed(trx, repository, [parsed.digest]);
      return removed;
    });
    if (!unlinked) throw blobUnknown(parsed.digest);
  }
}

function blobUnknown(digest: string): RegistryError {
  return new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { digest });
}
