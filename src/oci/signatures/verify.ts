import type { Descriptor } from "../manifest.js";
import { verifyBundles } from "./verify-bundle.js";
import { verifyLegacy } from "./verify-legacy.js";
import type { SignatureArtifact, SignatureVerdict, TrustedKey } from "./types.js";

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
  switch (artifact.format) {
    case "cosign-legacy":
      return verifyLegacy(artifact, readLayer, expectedDigest, keys);
    case "sigstore-bundle":
      return verifyBundles(artifact, readLayer, expectedDigest, keys);
    case "notation":
      return artifact.layers.map(() => ({
        format: artifact.format,
        subject: expectedDigest ?? artifact.subject,
        signers: [],
        problem: `verifying ${artifact.format} signatures is not available yet`,
      }));
  }
}
