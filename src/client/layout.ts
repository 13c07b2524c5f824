import { createReadStream } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { parseDigest } from "../oci/digest.js";
import { MediaType } from "../oci/media-types.js";
import { writeFileAtomic, writeStreamAtomic } from "./atomic.js";
import { IntegrityError, NotFoundError, UsageError } from "./errors.js";
import {
  MANIFEST_LIMIT,
  decodeManifest,
  isIndexMediaType,
  type Descriptor,
  type IndexManifest,
  type ManifestData,
} from "./manifest.js";
import type { PushManifestOptions, Target } from "./target.js";
import { referrerDescriptor } from "./target.js";
import type { BlobSource } from "./upload.js";
import { counted } from "./streams.js";
import { guardVersionTag } from "./tag-guard.js";
import { digestLike, verified } from "./verify.js";

/** The annotation an OCI layout's index.json names tags with (skopeo and ORAS read and write it). */
export const REF_NAME = "org.opencontainers.image.ref.name";

/**
 * An OCI image layout directory: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`. Blobs are written
 * atomically and verified; index.json is rewritten atomically (one writer at a time is assumed).
 */
export class LayoutTarget implements Target {
  readonly label: string;

  constructor(readonly path: string) {
    this.label = `oci:${path}`;
  }

  /** A tag, a digest, or "" for "the only manifest in the layout". */
  async resolve(reference: string): Promise<Descriptor> {
    const index = await this.readIndex();
    if (reference.includes(":")) {
      const listed = index.manifests.find((m) => m.digest === reference);
      if (listed) return strip(listed);
      const bytes = await this.readBlob(reference).catch(() => undefined);
      if (!bytes) throw new NotFoundError(`${this.label}@${reference} not found`);
      const mediaType =
        (JSON.parse(bytes.toString("utf8")) as { mediaType?: string }).mediaType ?? MediaType.OciManifest;
      return { mediaType, digest: reference, size: bytes.length };
    }
    if (reference === "") {
      if (index.manifests.length === 1) return strip(index.manifests[0] as Descriptor);
      throw new UsageError(
        `${this.label} holds ${index.manifests.length} manifests: name one with :tag or @digest`,
      );
    }
    const tagged = index.manifests.filter((m) => m.annotations?.[REF_NAME] === reference);
    const found = tagged.at(-1);
    if (!found) throw new NotFoundError(`${this.label}:${reference} not found`);
    return strip(found);
  }

  async fetchManifest(descriptor: Descriptor): Promise<ManifestData> {
    const bytes = await this.readBlob(descriptor.digest);
    const data = { bytes, mediaType: descriptor.mediaType, digest: descriptor.digest };
    decodeManifest(data);
    return data;
  }

  async fetchBlob(descriptor: Descriptor): Promise<Readable> {
    const path = this.blobPath(descriptor.digest);
    await stat(path).catch(() => {
      throw new NotFoundError(`${this.label} has no blob ${descriptor.digest}`);
    });
    return verified(createReadStream(path), descriptor, `blob ${descriptor.digest} in ${this.label}`);
  }

  blobSource(descriptor: Descriptor): BlobSource {
    const path = this.blobPath(descriptor.digest);
    // Ranged, so uploads from a layout can go in chunks; the registry verifies the digest at the end.
    return {
      ranged: true,
      open: async (range) =>
        range ? createReadStream(path, { start: range.start, end: range.end }) : this.fetchBlob(descriptor),
    };
  }

  async hasBlob(descriptor: Descriptor): Promise<boolean> {
    const info = await stat(this.blobPath(descriptor.digest)).catch(() => undefined);
    return info?.size === descriptor.size;
  }

  async pushBlob(
    descriptor: Descriptor,
    source: BlobSource,
    onProgress?: (sent: number) => void,
  ): Promise<void> {
    await this.init();
    const stream = verified(await source.open(), descriptor, `blob ${descriptor.digest}`);
    await writeStreamAtomic(this.blobPath(descriptor.digest), counted(stream, 0, onProgress));
  }

  hasManifest(descriptor: Descriptor): Promise<boolean> {
    return this.hasBlob(descriptor);
  }

  async pushManifest(data: ManifestData, tag?: string, options: PushManifestOptions = {}): Promise<void> {
    if (digestLike(data.bytes, data.digest) !== data.digest) {
      throw new IntegrityError(`manifest ${data.digest} does not match its content`);
    }
    if (!options.force) await guardVersionTag(this, tag, data.digest);
    await this.init();
    await writeFileAtomic(this.blobPath(data.digest), data.bytes);
    const index = await this.readIndex();
    const descriptor: Descriptor = {
      mediaType: data.mediaType,
      digest: data.digest,
      size: data.bytes.length,
    };
    const artifactType = referrerDescriptor(data).artifactType;
    if (artifactType && !isIndexMediaType(data.mediaType)) descriptor.artifactType = artifactType;
    let manifests = index.manifests;
    if (tag) {
      manifests = manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
      manifests.push({ ...descriptor, annotations: { [REF_NAME]: tag } });
    } else if (!manifests.some((m) => m.digest === data.digest)) manifests.push(descriptor);
    else return;
    await this.writeIndex({ ...index, manifests });
  }

  /** Manifests in index.json whose subject is `descriptor` (ORAS keeps referrers there, untagged). */
  async referrers(descriptor: Descriptor, artifactType?: string): Promise<Descriptor[]> {
    const found: Descriptor[] = [];
    const seen = new Set<string>();
    for (const entry of (await this.readIndex()).manifests) {
      if (seen.has(entry.digest) || isIndexMediaType(entry.mediaType)) continue;
      seen.add(entry.digest);
      const data = await this.fetchManifest(strip(entry)).catch(() => undefined);
      if (!data) continue;
      if (decodeManifest(data).doc.subject?.digest !== descriptor.digest) continue;
      const referrer = referrerDescriptor(data);
      if (!artifactType || referrer.artifactType === artifactType) found.push(referrer);
    }
    return found;
  }

  /** Tags in index.json. */
  async tags(): Promise<string[]> {
    const names = (await this.readIndex()).manifests.map((m) => m.annotations?.[REF_NAME]);
    return [...new Set(names.filter((n): n is string => n !== undefined))].sort();
  }

  private blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.path, "blobs", algorithm, hex);
  }

  private async readBlob(digest: string): Promise<Buffer> {
    const path = this.blobPath(digest);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new NotFoundError(`${this.label} has no blob ${digest}`);
    if (info.size > MANIFEST_LIMIT)
      throw new IntegrityError(`${digest} in ${this.label} is too large for a manifest`);
    const bytes = await readFile(path);
    if (digestLike(bytes, digest) !== digest)
      throw new IntegrityError(`${digest} in ${this.label} is corrupt`);
    return bytes;
  }

  private async readIndex(): Promise<IndexManifest> {
    let text: string;
    try {
      text = await readFile(join(this.path, "index.json"), "utf8");
    } catch {
      throw new NotFoundError(`${this.path} is not an OCI image layout (no index.json)`);
    }
    const index = JSON.parse(text) as IndexManifest;
    if (!Array.isArray(index.manifests))
      throw new IntegrityError(`${this.path}/index.json has no manifests list`);
    return index;
  }

  private async writeIndex(index: IndexManifest): Promise<void> {
    await writeFileAtomic(join(this.path, "index.json"), `${JSON.stringify(index)}\n`);
  }

  private async init(): Promise<void> {
    await mkdir(join(this.path, "blobs", "sha256"), { recursive: true });
    const marker = join(this.path, "oci-layout");
    if (!(await stat(marker).catch(() => undefined))) {
      await writeFileAtomic(marker, `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
    }
    if (!(await stat(join(this.path, "index.json")).catch(() => undefined))) {
      await this.writeIndex({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    }
  }
}

/** A descriptor without the layout's own annotations (the ref name is not part of the artifact). */
function strip(descriptor: Descriptor): Descriptor {
  return { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size };
}
