import type { Descriptor } from "../manifest.js";
import {
  COSIGN_SIGNATURE_ANNOTATION,
  MAX_SIGNATURES,
  NOTATION_ARTIFACT_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "./constants.js";
import type { SignatureArtifact } from "./types.js";

/** Notation's COSE envelope: recognised so that verifying says it is unsupported rather than ignoring it. */
export const NOTATION_COSE_MEDIA_TYPE = "application/cose";

/**
 * Sigstore bundle media types a referrer may carry: cosign v3's, and the older spellings sigstore-js
 * (and @sigstore/oci users passing `bundle.mediaType`) write.
 */
const BUNDLE_MEDIA_TYPES = new Set([
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  "application/vnd.dev.sigstore.bundle+json;version=0.1",
  "application/vnd.dev.sigstore.bundle+json;version=0.2",
  "application/vnd.dev.sigstore.bundle+json;version=0.3",
]);

/** cosign's tag for the signatures of `sha256:<hex>`: `sha256-<hex>.sig`. */
export function legacySignatureTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

const SIG_TAG = /^(sha256|sha512)-([a-f0-9]{64}|[a-f0-9]{128})\.sig$/;

/**
 * Recognises a manifest (parsed JSON) that holds signatures: a Sigstore bundle or Notation referrer, or a
 * cosign `.sig` image (`tag` is where it was found, `sha256-<hex>.sig`). Anything else: undefined.
 */
export function identifySignature(manifest: unknown, tag?: string): SignatureArtifact | undefined {
  if (manifest === null || typeof manifest !== "object" || Array.isArray(manifest)) return undefined;
  const m = manifest as Record<string, unknown>;
  const layers = descriptors(m.layers);
  if (layers.length === 0) return undefined;
  const config = descriptor(m.config);
  const artifactType = typeof m.artifactType === "string" ? m.artifactType : config?.mediaType;
  const subject = descriptor(m.subject)?.digest;

  if (artifactType !== undefined && BUNDLE_MEDIA_TYPES.has(artifactType)) {
    const bundles = layers.filter((l) => BUNDLE_MEDIA_TYPES.has(l.mediaType));
    if (bundles.length === 0 || !subject) return undefined;
    return { format: "sigstore-bundle", subject, layers: bundles.slice(0, MAX_SIGNATURES) };
  }
  if (artifactType === NOTATION_ARTIFACT_TYPE) {
    const envelopes = layers.filter(
      (l) => l.mediaType === NOTATION_JWS_MEDIA_TYPE || l.mediaType === NOTATION_COSE_MEDIA_TYPE,
    );
    if (envelopes.length === 0 || !subject) return undefined;
    return { format: "notation", subject, layers: envelopes.slice(0, MAX_SIGNATURES) };
  }
  const signed = layers.filter(
    (l) =>
      l.mediaType === SIMPLE_SIGNING_MEDIA_TYPE &&
      typeof l.annotations?.[COSIGN_SIGNATURE_ANNOTATION] === "string",
  );
  if (signed.length === 0) return undefined;
  const fromTag = tag === undefined ? undefined : SIG_TAG.exec(tag);
  return {
    format: "cosign-legacy",
    subject: fromTag ? `${fromTag[1]}:${fromTag[2]}` : "",
    layers: signed.slice(0, MAX_SIGNATURES),
  };
}

/** The well-formed descriptors of a list (bounded): anything else in untrusted JSON is skipped. */
function descriptors(value: unknown): Descriptor[] {
  if (!Array.isArray(value)) return [];
  const out: Descriptor[] = [];
  for (const item of value.slice(0, MAX_SIGNATURES * 4)) {
    const d = descriptor(item);
    if (d) out.push(d);
  }
  return out;
}

function descriptor(value: unknown): Descriptor | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.mediaType !== "string" || typeof v.digest !== "string") return undefined;
  if (typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0) return undefined;
  const d: Descriptor = { mediaType: v.mediaType, digest: v.digest, size: v.size };
  if (typeof v.artifactType === "string") d.artifactType = v.artifactType;
  if (Array.isArray(v.urls) && v.urls.every((u) => typeof u === "string")) d.urls = v.urls as string[];
  if (v.annotations !== null && typeof v.annotations === "object" && !Array.isArray(v.annotations)) {
    const annotations: Record<string, string> = {};
    for (const [k, a] of Object.entries(v.annotations)) if (typeof a === "string") annotations[k] = a;
    d.annotations = annotations;
  }
  return d;
}
