import type { Descriptor } from "../manifest.js";
import { MAX_SIGNATURES } from "./constants.js";
import { verifyBundleLayer } from "./verify-bundle.js";
import { verifyLegacyLayer } from "./verify-legacy.js";
import { verifyEnvelope } from "./verify-notation.js";
import type { SignatureArtifact, SignatureVerdict, TrustedKey } from "./types.js";

type LayerVerifier = (
  layer: Descriptor,
  readLayer: (layer: Descriptor) => Promise<Buffer>,
  expected: string | undefined,
  keys: readonly TrustedKey[],
) => Promise<SignatureVerdict>;

/** One signature per layer, in every format. */
const LAYER_VERIFIERS: Record<SignatureArtifact["format"], LayerVerifier> = {
  "cosign-legacy": verifyLegacyLayer,
  "sigstore-bundle": verifyBundleLayer,
  notation: verifyEnvelope,
};

/**
 * Checks every signature an artifact holds against `expectedDigest` and the trusted keys: the
 * signature over the exact payload bytes, and the payload's digest equal to the expected one. Layers are
 * read through `readLayer` (verified against their digest by the caller; each ≤ MAX_SIGNATURE_LAYER_BYTES).
 * With `expectedDigest` undefined (a `.sig` image stored without its tag, say) each verdict's subject is
 * the digest its payload states. Never throws for a bad signature: the verdict says what is wrong.
 */
export async function verifySignatureArtifact(
  artifact: SignatureArtifact,
  readLayer: (layer: Descriptor) => Promise<Buffer>,
  expectedDigest: string | undefined,
  keys: readonly TrustedKey[],
): Promise<SignatureVerdict[]> {
  const verifyLayer = LAYER_VERIFIERS[artifact.format];
  const expected = expectedDigest ?? (artifact.subject || undefined);
  try {
    const verdicts: SignatureVerdict[] = [];
    for (const layer of artifact.layers.slice(0, MAX_SIGNATURES))
      verdicts.push(await verifyLayer(layer, readLayer, expected, keys));
    return verdicts;
  } catch (err) {
    // A bug or a library's surprise on hostile input: still a verdict, never a failed request.
    return artifact.layers.slice(0, MAX_SIGNATURES).map(() => ({
      format: artifact.format,
      subject: expectedDigest ?? artifact.subject,
      signers: [],
      problem: `the signature could not be checked: ${err instanceof Error ? err.message : String(err)}`,
    }));
  }
}
