import { RegistryError } from "../oci/errors.js";
import { digestOf } from "../oci/digest.js";
import { MAX_MANIFEST_BYTES, parseManifest, type Descriptor } from "../oci/manifest.js";
import type { Db } from "../metadata/database.js";
import { linkedBlobSizes } from "../metadata/blobs.js";
import { touchLinks } from "../metadata/gc-blobs.js";
import * as manifests from "../metadata/manifests.js";
import { repositoryExists } from "../metadata/repositories.js";
import { deleteTag, lockedTagDigest, lockTags } from "../metadata/tags.js";
import { indexChildren } from "../metadata/artifacts.js";
import { deleteTagTerm } from "../metadata/search-terms.js";
import { markIndexes } from "../metadata/index-marks.js";
import type { FactsRecorder } from "./facts.js";
import type { ImmutableTags } from "./immutable/service.js";
import type { QuotaService } from "./quotas/service.js";
import type { SignatureOutcome, SignatureRecorder } from "./trust/signatures.js";
import { deleteSignatures } from "../metadata/signatures.js";
import {
  lookupReference,
  parseReference,
  requireRepositoryName,
  requireTag,
  type Reference,
} from "./validation.js";

export type StoredManifest = manifests.StoredManifest;

/** How manifest changes reach the managed index artifacts (see ManagedIndexes). */
export interface IndexTracking {
  /** Managed namespaces a change to `repository` puts out of date (none for an index's own repository). */
  namespacesOf(repository: string): string[];
  /** After the change is committed: rebuild soon. Never throws. */
  changed(namespaces: readonly string[]): void;
}

/** Runs inside a manifest write's transaction; throwing aborts the write (a compare-and-set). */
export type WriteGuard = (trx: Db) => Promise<void>;

/** Hooks of deleteByDigest, each run inside the delete's transaction. */
export interface DeleteOptions {
  /** After the tag lock, before anything is removed: true keeps the manifest (nothing is deleted). */
  keep?: (trx: Db) => Promise<boolean>;
}

export interface PutManifestResult {
  digest: string;
  subject: string | null;
  /** What its signatures' verification found, when the manifest holds signatures. */
  signatures?: SignatureOutcome;
}

export class ManifestService {
  private indexes: IndexTracking | undefined;
  private signatures: SignatureRecorder | undefined;

  constructor(
    private readonly db: Db,
    /** Every tag set or removed here goes through its checks, inside the write's transaction. */
    private readonly immutable: ImmutableTags,
    /** A new manifest row counts towards its namespaces' quotas (by its digest and size), in its write. */
    private readonly quotas: QuotaService,
    /** Extracts each artifact's facts after it is stored (discovery and search). */
    private readonly facts?: FactsRecorder,
  ) {}

  /** Signature manifests are verified before their write and recorded in its transaction. */
  trackSignatures(recorder: SignatureRecorder): void {
    this.signatures = recorder;
  }

  /** Changes below a managed namespace mark its index in the change's transaction, then schedule it. */
  trackIndexes(tracking: IndexTracking): void {
    this.indexes = tracking;
  }

  async get(repository: string, reference: string): Promise<StoredManifest> {
    requireRepositoryName(repository);
    const ref = lookupReference(reference);
    const found = ref && (await this.find(repository, ref));
    if (found) return found;
    if (!(await repositoryExists(this.db, repository))) {
      throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", { name: repository });
    }
    throw manifestUnknown(reference);
  }

  private find(repository: string, ref: Reference): Promise<StoredManifest | null> {
    return ref.kind === "tag"
      ? manifests.findManifestByTag(this.db, repository, ref.tag)
      : manifests.findManifest(this.db, repository, ref.digest.digest);
  }

  /**
   * Stores a manifest after checking it parses as its media type, matches a digest reference, and that
   * everything it references (but its subject) is in the repository. Tags it with the reference and `tags`.
   */
  async put(
    repository: string,
    reference: string,
    contentType: string | undefined,
    body: Buffer,
    extraTags: string[] = [],
    guard?: WriteGuard,
  ): Promise<PutManifestResult> {
    requireRepositoryName(repository);
    const ref = parseReference(reference);
    const tags = [...(ref.kind === "tag" ? [ref.tag] : []), ...extraTags.map(requireTag)];
    if (body.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError("SIZE_INVALID", `manifest exceeds ${MAX_MANIFEST_BYTES} bytes`, undefined, 413);
    }
    const digest = digestOf(body, ref.kind === "digest" ? ref.digest.algorithm : "sha256");
    if (ref.kind === "digest" && ref.digest.digest !== digest) {
      throw new RegistryError("DIGEST_INVALID", "manifest digest does not match the reference", {
        expected: ref.digest.digest,
        actual: digest,
      });
    }
    const info = parseManifest(body, contentType);
    await this.requirePresent(repository, info.blobs, "blob");
    await this.requirePresent(repository, info.manifests, "manifest");

    const namespaces = this.indexes?.namespacesOf(repository) ?? [];
    // Outside the transaction: it reads signature layers from the blob store (already checked present).
    const signatures = await this.signatures?.check(repository, digest, body, tags);
    await this.db.transaction().execute(async (trx) => {
      await lockTags(trx, repository);
      await guard?.(trx);
      // Again inside the write, touching what it relies on: a concurrent sweep either removed a link
      // first (refused here) or finds it fresh (see src/registry/gc/blob-states.ts).
      await requireStillPresent(trx, repository, info.blobs, info.manifests);
      const inserted = await manifests.insertManifest(trx, {
        repository,
        digest,
        mediaType: info.mediaType,
        artifactType: info.artifactType,
        subjectDigest: info.subject?.digest ?? null,
        annotations: info.annotations,
        content: body,
        references: [
          ...info.blobs.map((d) => ({ digest: d.digest, kind: "blob" as const })),
          ...info.manifests.map((d) => ({ digest: d.digest, kind: "manifest" as const })),
        ],
      });
      if (inserted) await this.quotas.added(trx, repository, [{ digest, size: body.length }]);
      for (const tag of tags) await this.immutable.setTag(trx, repository, tag, digest);
      if (signatures) await this.signatures?.record(trx, repository, digest, signatures);
      await markIndexes(trx, namespaces);
    });
    const verified = signatures && (await this.signatures?.recorded(repository, digest, signatures));
    await this.facts?.afterPut(repository, digest, body, tags);
    this.indexes?.changed(namespaces);
    return { digest, subject: info.subject?.digest ?? null, ...(verified ? { signatures: verified } : {}) };
  }

  /** A tag reference untags; a digest reference deletes the manifest and every tag on it. */
  async delete(repository: string, reference: string): Promise<void> {
    requireRepositoryName(repository);
    const ref = lookupReference(reference);
    if (!ref) throw manifestUnknown(reference);
    if (ref.kind === "tag") {
      if ((await this.untag(repository, ref.tag)) !== "removed") throw manifestUnknown(reference);
      return;
    }
    if (!(await this.deleteByDigest(repository, ref.digest.digest))) throw manifestUnknown(reference);
  }

  /**
   * Deletes a manifest and every tag on it, as DELETE by digest does (and garbage collection, through the
   * same path): in one transaction holding the repository's tag lock, immutable tags refusing, its
   * signatures dropped, managed indexes marked; facts and index rebuilds follow the commit. `options.keep`
   * runs first inside that transaction, after the lock: returning true leaves the manifest (a sweep's
   * re-check, which a racing tag or index PUT, serialised on the same lock, can thus never half-lose).
   * `options.removed` runs in the transaction once the row is gone. False when nothing was deleted.
   */
  async deleteByDigest(repository: string, digest: string, options: DeleteOptions = {}): Promise<boolean> {
    const namespaces = this.indexes?.namespacesOf(repository) ?? [];
    const deleted = await this.db.transaction().execute(async (trx) => {
      await lockTags(trx, repository);
      if (await options.keep?.(trx)) return null;
      await this.immutable.requireManifestRemovable(trx, repository, digest);
      await this.immutable.requireNotPartOfImmutable(trx, repository, digest, "manifest");
      const children = await indexChildren(trx, repository, digest);
      const found = await manifests.deleteManifest(trx, repository, digest, (tags) =>
        this.immutable.checkRemovedTags(trx, repository, digest, tags),
      );
      if (!found) return null;
      await deleteSignatures(trx, repository, digest);
      await markIndexes(trx, namespaces);
      // Last in the transaction: quota rows are locked after everything else a write locks.
      await this.quotas.removed(trx, repository, [digest]);
      return children;
    });
    if (!deleted) return false;
    await this.facts?.afterDelete(repository, digest, deleted);
    this.indexes?.changed(namespaces);
    return true;
  }

  /**
   * Removes a tag only while it still points at `digest` (retention judged it there: a tag moved since
   * is left alone). The manifest stays, whatever else tags it. Immutable tags are refused as on DELETE.
   */
  async untagIf(repository: string, tag: string, digest: string): Promise<"removed" | "moved" | "gone"> {
    return this.untag(repository, tag, digest);
  }

  /** The tag delete path: checks and removal in one transaction, the repository's tag writers locked first. */
  private async untag(
    repository: string,
    tag: string,
    expected?: string,
  ): Promise<"removed" | "moved" | "gone"> {
    const namespaces = this.indexes?.namespacesOf(repository) ?? [];
    const outcome = await this.db.transaction().execute(async (trx) => {
      await lockTags(trx, repository);
      await this.immutable.requireTagRemovable(trx, repository, tag);
      if (expected !== undefined) {
        const current = await lockedTagDigest(trx, repository, tag);
        if (current === undefined) return "gone";
        if (current !== expected) return "moved";
      }
      if (!(await deleteTag(trx, repository, tag))) return "gone";
      await deleteTagTerm(trx, repository, tag);
      await markIndexes(trx, namespaces);
      return "removed";
    });
    if (outcome === "removed") this.indexes?.changed(namespaces);
    return outcome;
  }

  private async requirePresent(repository: string, descriptors: Descriptor[], kind: "blob" | "manifest") {
    if (descriptors.length === 0) return;
    const digests = [...new Set(descriptors.map((d) => d.digest))];
    const sizes =
      kind === "blob"
        ? await linkedBlobSizes(this.db, repository, digests)
        : await manifests.manifestSizes(this.db, repository, digests);
    for (const descriptor of descriptors) {
      const size = sizes.get(descriptor.digest);
      if (size === undefined) {
        throw new RegistryError(
          "MANIFEST_BLOB_UNKNOWN",
          `${kind} unknown to registry: ${descriptor.digest}`,
          {
            digest: descriptor.digest,
          },
        );
      }
      if (size !== descriptor.size) {
        throw new RegistryError(
          "MANIFEST_INVALID",
          `size of ${descriptor.digest} is ${size}, not ${descriptor.size}`,
        );
      }
    }
  }
}

/** Inside a manifest write: every blob link it relies on is touched, and every child manifest is there. */
async function requireStillPresent(
  trx: Db,
  repository: string,
  blobs: Descriptor[],
  children: Descriptor[],
): Promise<void> {
  const blobDigests = [...new Set(blobs.map((d) => d.digest))];
  if (blobDigests.length > 0 && (await touchLinks(trx, repository, blobDigests)) < blobDigests.length) {
    const linked = await linkedBlobSizes(trx, repository, blobDigests);
    const missing = blobDigests.find((d) => !linked.has(d)) ?? blobDigests[0];
    throw new RegistryError(
      "MANIFEST_BLOB_UNKNOWN",
      `blob unknown to registry: ${missing} (garbage-collected while the manifest was pushed: push it again)`,
      { digest: missing },
    );
  }
  const childDigests = [...new Set(children.map((d) => d.digest))];
  if (childDigests.length === 0) return;
  const found = await manifests.manifestSizes(trx, repository, childDigests);
  const missing = childDigests.find((d) => !found.has(d));
  if (missing !== undefined) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", `manifest unknown to registry: ${missing}`, {
      digest: missing,
    });
  }
}

function manifestUnknown(reference: string): RegistryError {
  return new RegistryError("MANIFEST_UNKNOWN", "manifest unknown", { reference: reference.slice(0, 300) });
}
