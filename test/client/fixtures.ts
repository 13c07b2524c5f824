import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { MediaType } from "../../src/oci/media-types.js";
import {
  bufferSource,
  EMPTY_CONFIG,
  type Descriptor,
  type ManifestData,
  type RegistryClient,
} from "../../src/client/index.js";

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function describeBytes(bytes: Buffer, mediaType = "application/octet-stream"): Descriptor {
  return { mediaType, digest: sha256(bytes), size: bytes.length };
}

export function manifestData(doc: object): ManifestData {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { bytes, mediaType: MediaType.OciManifest, digest: sha256(bytes) };
}

/** Pushes an artifact of the given layers (and the empty config); returns its manifest. */
export async function pushArtifact(
  registry: RegistryClient,
  repository: string,
  tag: string,
  layers: Buffer[],
  extra: Record<string, unknown> = {},
): Promise<ManifestData> {
  await registry.pushBlob(repository, EMPTY_CONFIG, bufferSource(EMPTY_CONFIG.bytes));
  const descriptors: Descriptor[] = [];
  for (const [i, layer] of layers.entries()) {
    const d = describeBytes(layer, "application/vnd.test.layer");
    d.annotations = { "org.opencontainers.image.title": `file${i}.txt` };
    await registry.pushBlob(repository, d, bufferSource(layer));
    descriptors.push(d);
  }
  const data = manifestData({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: "application/vnd.test.artifact",
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
    layers: descriptors,
    ...extra,
  });
  await registry.putManifest(repository, tag, data);
  return data;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
