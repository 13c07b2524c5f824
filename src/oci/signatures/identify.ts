import type { SignatureArtifact } from "./types.js";

/**
 * Recognises a manifest (parsed JSON) that holds signatures: a Sigstore bundle or Notation referrer, or a
 * cosign `.sig` image (`tag` is where it was found, `sha256-<hex>.sig`). Anything else: undefined.
 */
export function identifySignature(_manifest: unknown, _tag?: string): SignatureArtifact | undefined {
  throw new Error("not implemented: identifySignature");
}
