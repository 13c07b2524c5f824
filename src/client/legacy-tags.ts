import { NotFoundError } from "./errors.js";
import type { Descriptor } from "./manifest.js";
import type { Target } from "./target.js";

/**
 * cosign ≤ v2 keeps signatures, attestations and SBOMs of `<alg>:<hex>` under the tags `<alg>-<hex>.sig`,
 * `.att` and `.sbom`: manifests without a subject, found only through their tag name.
 */
export const COSIGN_LEGACY_TAGS = {
  sig: "cosign-signature",
  att: "cosign-attestation",
  sbom: "cosign-sbom",
} as const;
export type LegacyKind = (typeof COSIGN_LEGACY_TAGS)[keyof typeof COSIGN_LEGACY_TAGS];

export interface LegacyTagged {
  tag: string;
  kind: LegacyKind;
  descriptor: Descriptor;
}

/** cosign's tag for `digest` (`sha256:abc` → `sha256-abc.sig`). */
export function legacyTag(digest: string, suffix: keyof typeof COSIGN_LEGACY_TAGS): string {
  return `${digest.replace(":", "-")}.${suffix}`;
}

/** The cosign tags of `digest` that exist in the target (asked in parallel: one HEAD each). */
export async function legacyTagsOf(target: Target, digest: string): Promise<LegacyTagged[]> {
  const suffixes = Object.keys(COSIGN_LEGACY_TAGS) as (keyof typeof COSIGN_LEGACY_TAGS)[];
  const found = await Promise.all(
    suffixes.map(async (suffix): Promise<LegacyTagged | undefined> => {
      const tag = legacyTag(digest, suffix);
      try {
        return { tag, kind: COSIGN_LEGACY_TAGS[suffix], descriptor: await target.resolve(tag) };
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    }),
  );
  return found.filter((f): f is LegacyTagged => f !== undefined);
}
