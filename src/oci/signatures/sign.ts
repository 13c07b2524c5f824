import type { Descriptor } from "../manifest.js";
import type { SigningKey } from "./types.js";

/**
 * A Sigstore bundle v0.3 (JSON bytes) as cosign v3 writes for `cosign sign --key`: a DSSE envelope over an
 * in-toto statement whose subject is `digest`, predicate type COSIGN_SIGN_PREDICATE_TYPE, the key named by
 * its hint, no transparency-log entry (offline).
 */
export async function createSigstoreBundle(
  _digest: string,
  _key: SigningKey,
  _subjectName: string,
): Promise<Buffer> {
  throw new Error("not implemented: createSigstoreBundle");
}

/** The referrer manifest (JSON bytes) cosign v3 pushes for a bundle: empty config, the bundle as its layer. */
export function bundleReferrerManifest(_subject: Descriptor, _bundle: Descriptor, _created: Date): Buffer {
  throw new Error("not implemented: bundleReferrerManifest");
}

/** cosign's simple-signing payload for `digest` in `dockerReference` (host/repo), byte for byte. */
export function simpleSigningPayload(_dockerReference: string, _digest: string): Buffer {
  throw new Error("not implemented: simpleSigningPayload");
}

/** Base64 ECDSA (ASN.1) signature of the payload, the value of `dev.cosignproject.cosign/signature`. */
export function signPayload(_payload: Buffer, _key: SigningKey): string {
  throw new Error("not implemented: signPayload");
}

/**
 * The `.sig` manifest (JSON bytes) and its config blob: the layers already there (each a signed payload)
 * followed by the new one, as cosign appends.
 */
export function legacySignatureManifest(_layers: Descriptor[]): { manifest: Buffer; config: Buffer } {
  throw new Error("not implemented: legacySignatureManifest");
}
