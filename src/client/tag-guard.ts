import { isVersionTag } from "../oci/tag-policy/index.js";
import { ImmutableTagError, NotFoundError } from "./errors.js";
import type { Target } from "./target.js";

/**
 * Seed 002's promise, kept by this client on any registry (Distribution and GHCR have no immutable
 * tags): a version tag (`v1.2.0`, `1.2.0-rc.1`: anything isVersionTag accepts) that already exists is
 * not moved to another digest. Writing the digest it already has passes, so retries stay idempotent;
 * a tag that does not exist yet passes; other tags (`latest`, `1.2`, `main`) are not checked at all.
 *
 * One HEAD per version tag. Another client can still write the tag between this check and the PUT:
 * only the registry can close that race (Wharf's immutable-tag rules do).
 */
export async function guardVersionTag(
  target: Target,
  tag: string | undefined,
  digest: string,
): Promise<void> {
  if (tag === undefined || !isVersionTag(tag)) return;
  let current: string;
  try {
    current = (await target.resolve(tag)).digest;
  } catch (err) {
    if (err instanceof NotFoundError) return;
    throw err;
  }
  if (current === digest) return;
  throw new ImmutableTagError(
    `${target.label}:${tag} already points at ${current} (a version tag); push a new version, or --force to move it to ${digest}`,
  );
}
