import { MediaType } from "../../oci/media-types.js";
import {
  COSIGN_SIGNATURE_ANNOTATION,
  MAX_SIGNATURES,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  bundleReferrerManifest,
  createSigstoreBundle,
  legacySignatureLayer,
  legacySignatureTag,
  signPayload,
  simpleSigningPayload,
  type SigningKey,
} from "../../oci/signatures/index.js";
import { verifiesWith } from "../../oci/signatures/verify-legacy.js";
import { IntegrityError } from "../errors.js";
import { EMPTY_CONFIG, type Descriptor, type ManifestData } from "../manifest.js";
import { bufferSource } from "../sources.js";
import type { Target } from "../target.js";
import { digestLike } from "../verify.js";
import { readSignatureImage, writeSignatureImage } from "./signature-image.js";

export type SignFormat = "bundle" | "legacy";

export interface SignOptions {
  /** `bundle` (cosign v3's default, an OCI 1.1 referrer) or `legacy` (the `sha256-<hex>.sig` tag). */
  format?: SignFormat;
  /** The bundle manifest's `org.opencontainers.image.created` (default: now). */
  created?: Date;
}

export interface SignResult {
  format: SignFormat;
  /** The digest that was signed. */
  subject: string;
  /** The digest of the manifest holding the signature (the referrer, or the new `.sig` manifest). */
  signature: string;
  /** Legacy: the `.sig` tag and how many signatures it now holds. */
  tag?: string;
  signatures?: number;
  /** Legacy: this key had already signed this payload, so nothing was added (as cosign does). */
  existing?: boolean;
}

/**
 * Signs `subject` (a manifest or index, by digest: never a tag that might move meanwhile) in `target`,
 * as `cosign sign --key` does. `dockerReference` is `host/repository` (cosign's ref.Context().Name()),
 * which only the legacy simple-signing payload names: cosign v3's in-toto statement has no subject name.
 */
export async function signArtifact(
  target: Target,
  subject: Descriptor,
  dockerReference: string,
  key: SigningKey,
  options: SignOptions = {},
): Promise<SignResult> {
  const subjectDescriptor = { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  if ((options.format ?? "bundle") === "legacy")
    return signLegacy(target, subjectDescriptor, dockerReference, key);
  // No subject name: cosign's statement has none, and the bytes signed are to be exactly cosign's.
  const bundle = await createSigstoreBundle(subject.digest, key);
  const bundleDescriptor: Descriptor = {
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    digest: digestLike(bundle),
    size: bundle.length,
  };
  const { bytes: empty, ...emptyDescriptor } = EMPTY_CONFIG;
  await putBlob(target, emptyDescriptor, Buffer.from(empty));
  await putBlob(target, bundleDescriptor, bundle);
  const bytes = bundleReferrerManifest(subjectDescriptor, bundleDescriptor, options.created ?? new Date());
  const data: ManifestData = { bytes, mediaType: MediaType.OciManifest, digest: digestLike(bytes) };
  // By digest only: the target adds it to the subject's fallback tag where there is no referrers API.
  await target.pushManifest(data);
  return { format: "bundle", subject: subject.digest, signature: data.digest };
}

/**
 * cosign's original format: the simple-signing payload as a new layer of `sha256-<hex>.sig`, after the
 * layers already there. As cosign's duplicate detector does, a signature by the same key over the same
 * payload is not added twice.
 */
async function signLegacy(
  target: Target,
  subject: Descriptor,
  dockerReference: string,
  key: SigningKey,
): Promise<SignResult> {
  const tag = legacySignatureTag(subject.digest);
  const existing = await readSignatureImage(target, tag);
  const payload = simpleSigningPayload(dockerReference, subject.digest);
  const payloadDigest = digestLike(payload);
  const same = existing.layers.find(
    (l) => l.digest === payloadDigest && signedBy(payload, l.annotations?.[COSIGN_SIGNATURE_ANNOTATION], key),
  );
  if (same && existing.digest) {
    return {
      format: "legacy",
      subject: subject.digest,
      signature: existing.digest,
      tag,
      signatures: existing.layers.length,
      existing: true,
    };
  }
  if (existing.layers.length >= MAX_SIGNATURES)
    throw new IntegrityError(
      `${target.label}:${tag} already holds ${existing.layers.length} signatures (at most ${MAX_SIGNATURES} are read): not adding another`,
    );
  const layer = legacySignatureLayer(payload, signPayload(payload, key));
  const layers = [...existing.layers, layer];
  await putBlob(target, layer, payload);
  const signature = await writeSignatureImage(target, tag, layers);
  return { format: "legacy", subject: subject.digest, signature, tag, signatures: layers.length };
}

function signedBy(payload: Buffer, signature: string | undefined, key: SigningKey): boolean {
  return signature !== undefined && verifiesWith(key.publicKey, payload, Buffer.from(signature, "base64"));
}

async function putBlob(target: Target, descriptor: Descriptor, bytes: Buffer): Promise<void> {
  if (await target.hasBlob(descriptor)) return;
  await target.pushBlob(descriptor, bufferSource(bytes));
}
