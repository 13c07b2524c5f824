import type { Readable } from "node:stream";
import type { Client } from "./client.js";
import { NotFoundError } from "./errors.js";
import { artifactTypeOf, decodeManifest, type Descriptor, type ManifestData } from "./manifest.js";
import { formatReference, type RegistryReference } from "./reference.js";
import type { RegistryClient } from "./registry.js";
import { streamSource } from "./sources.js";
import { guardVersionTag } from "./tag-guard.js";
import { uploadBlob, type BlobSource } from "./upload.js";

/**
 * Somewhere artifacts live: a registry repository or an OCI image layout. Copying, pushing and pulling
 * are written against this, so each works between any two kinds.
 */
export interface Target {
  /** For messages: `host/repo` or `oci:path`. */
  readonly label: string;
  /** A tag or digest → the manifest's descriptor. */
  resolve(reference: string): Promise<Descriptor>;
  fetchManifest(descriptor: Descriptor): Promise<ManifestData>;
  /** A stream that fails unless the content matches the descriptor. */
  fetchBlob(descriptor: Descriptor): Promise<Readable>;
  /** The blob as an upload source (ranged when the target can serve ranges cheaply). */
  blobSource(descriptor: Descriptor): BlobSource;
  hasBlob(descriptor: Descriptor): Promise<boolean>;
  pushBlob(descriptor: Descriptor, source: BlobSource, onProgress?: (sent: number) => void): Promise<void>;
  hasManifest(descriptor: Descriptor): Promise<boolean>;
  /**
   * Stores a manifest by digest, and under `tag` when given. Keeps referrer indexes up to date. Refuses
   * (ImmutableTagError) to move an existing version tag to another digest unless `force`: see
   * guardVersionTag.
   */
  pushManifest(data: ManifestData, tag?: string, options?: PushManifestOptions): Promise<void>;
  /** Manifests whose subject is `descriptor`. */
  referrers(descriptor: Descriptor, artifactType?: string): Promise<Descriptor[]>;
}

export interface PushManifestOptions {
  /** Move `tag` even when it is a version tag that points at another digest. */
  force?: boolean;
}

/** A repository in a registry. */
export class RegistryTarget implements Target {
  readonly registry: RegistryClient;
  readonly label: string;

  constructor(
    readonly client: Client,
    readonly ref: Pick<RegistryReference, "registry" | "repository">,
  ) {
    this.registry = client.registry(ref.registry);
    this.label = formatReference({ kind: "registry", registry: ref.registry, repository: ref.repository });
  }

  get repository(): string {
    return this.ref.repository;
  }

  resolve(reference: string): Promise<Descriptor> {
    return this.registry.resolve(this.repository, reference);
  }

  async fetchManifest(descriptor: Descriptor): Promise<ManifestData> {
    const data = await this.registry.getManifest(this.repository, descriptor.digest);
    return { ...data, mediaType: descriptor.mediaType || data.mediaType };
  }

  fetchBlob(descriptor: Descriptor): Promise<Readable> {
    return this.registry.getBlob(this.repository, descriptor);
  }

  blobSource(descriptor: Descriptor): BlobSource {
    return streamSource(() => this.fetchBlob(descriptor));
  }

  /** Asked of destinations before an upload: with the push scope (see blobSize). */
  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    return (await this.registry.blobSize(this.repository, descriptor.digest, true)) !== undefined;
  }

  async pushBlob(
    descriptor: Descriptor,
    source: BlobSource,
    onProgress?: (sent: number) => void,
  ): Promise<void> {
    // Callers check hasBlob first; uploading unconditionally here saves a second HEAD.
    await uploadBlob(
      this.registry.transport,
      this.repository,
      descriptor,
      source,
      this.client.uploadOptions(onProgress),
    );
  }

  /** Links a blob from another repository of the same registry; false if the registry declined. */
  mount(descriptor: Descriptor, from: string): Promise<boolean> {
    return this.registry.mountBlob(this.repository, descriptor.digest, from);
  }

  async hasManifest(descriptor: Descriptor): Promise<boolean> {
    try {
      await this.registry.resolve(this.repository, descriptor.digest);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  async pushManifest(data: ManifestData, tag?: string, options: PushManifestOptions = {}): Promise<void> {
    if (!options.force) await guardVersionTag(this, tag, data.digest);
    const result = await this.registry.putManifest(this.repository, tag ?? data.digest, data);
    const decoded = decodeManifest(data);
    const subject = decoded.doc.subject;
    if (subject && !result.subjectIndexed) {
      await this.registry.addReferrerByTag(this.repository, subject.digest, referrerDescriptor(data));
    }
  }

  async referrers(descriptor: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    return (await this.registry.referrers(this.repository, descriptor.digest, artifactType)).descriptors;
  }
}

/** How a manifest is listed among its subject's referrers. */
export function referrerDescriptor(data: ManifestData): Descriptor {
  const decoded = decodeManifest(data);
  const descriptor: Descriptor = { mediaType: data.mediaType, digest: data.digest, size: data.bytes.length };
  const artifactType = artifactTypeOf(decoded);
  if (artifactType) descriptor.artifactType = artifactType;
  if (decoded.doc.annotations) descriptor.annotations = decoded.doc.annotations;
  return descriptor;
}
