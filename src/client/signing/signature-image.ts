import { MediaType } from "../../oci/media-types.js";
import { MAX_SIGNATURES, legacySignatureManifest } from "../../oci/signatures/index.js";
import { IntegrityError, NotFoundError } from "../errors.js";
import { decodeManifest, type Descriptor, type ManifestData } from "../manifest.js";
import { bufferSource } from "../sources.js";
import type { Target } from "../target.js";
import { digestLike } from "../verify.js";

/** cosign's `sha256-<hex>.sig` image as a target holds it: its digest, and its layers (one per signature). */
export interface SignatureImage {
  /** Undefined when the tag does not exist. */
  digest?: string;
  layers: Descriptor[];
}

/** The `.sig` image (or `.att`, which cosign appends to the same way) under `tag`; no layers when absent. */
export async function readSignatureImage(target: Target, tag: string): Promise<SignatureImage> {
  let descriptor: Descriptor;
  try {
    descriptor = await target.resolve(tag);
  } catch (err) {
    if (err instanceof NotFoundError) return { layers: [] };
    throw err;
  }
  const decoded = decodeManifest(await target.fetchManifest(descriptor));
  if (decoded.kind !== "image")
    throw new IntegrityError(
      `${target.label}:${tag} is an index, not cosign's signature image: not appending to it`,
    );
  return { digest: descriptor.digest, layers: decoded.doc.layers };
}

/**
 * Writes `layers` (their blobs already in the target) as cosign's signature image under `tag`, as cosign
 * rebuilds it for every signature it appends: the tag moves to the new manifest. Its digest.
 */
export async function writeSignatureImage(
  target: Target,
  tag: string,
  layers: Descriptor[],
): Promise<string> {
  if (layers.length > MAX_SIGNATURES)
    throw new IntegrityError(
      `${target.label}:${tag} would hold ${layers.length} signatures (at most ${MAX_SIGNATURES} are read): not writing it`,
    );
  const { manifest, config } = legacySignatureManifest(layers);
  const configDescriptor: Descriptor = {
    mediaType: (JSON.parse(manifest.toString("utf8")) as { config: Descriptor }).config.mediaType,
    digest: digestLike(config),
    size: config.length,
  };
  if (!(await target.hasBlob(configDescriptor)))
    await target.pushBlob(configDescriptor, bufferSource(config));
  const data: ManifestData = {
    bytes: manifest,
    mediaType: MediaType.OciManifest,
    digest: digestLike(manifest),
  };
  // The .sig tag is meant to move with every signature added: not a version tag to guard.
  await target.pushManifest(data, tag, { force: true });
  return data.digest;
}

/**
 * Layers of `incoming` that `existing` lacks. Two layers are one signature when their payload digest
 * and annotations (the base64 signature, certificate, bundle) are equal: the same bytes, copied.
 */
export function missingLayers(
  existing: readonly Descriptor[],
  incoming: readonly Descriptor[],
): Descriptor[] {
  const seen = new Set(existing.map(layerIdentity));
  const missing: Descriptor[] = [];
  for (const layer of incoming) {
    const id = layerIdentity(layer);
    if (seen.has(id)) continue;
    seen.add(id);
    missing.push(layer);
  }
  return missing;
}

function layerIdentity(layer: Descriptor): string {
  const annotations = Object.entries(layer.annotations ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([layer.digest, annotations]);
}
