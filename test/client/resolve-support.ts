import type { TagPolicy } from "../../src/oci/tag-policy/index.js";

/** A policy (with the Helm option the tag-policy work adds) as `wharf resolve` flags. */
export function policyFlags(policy: TagPolicy & { helm?: boolean }): string[] {
  const flags: string[] = [];
  if (policy.semver !== undefined) flags.push("--semver", policy.semver);
  else if (policy.semverFilter !== undefined) flags.push("--semver", "*");
  if (policy.semverFilter !== undefined) flags.push("--semver-filter", policy.semverFilter);
  if (policy.order !== undefined) {
    flags.push("--order", policy.order);
    if (policy.direction === "desc") flags.push("--desc");
  }
  if (policy.filter !== undefined) flags.push("--filter", policy.filter);
  if (policy.extract !== undefined) flags.push("--extract", policy.extract);
  if (policy.helm) flags.push("--helm");
  if (policy.includeReferrerTags) flags.push("--include-referrer-tags");
  return flags;
}

/** What `wharf resolve --json` prints. */
export interface ResolveJson {
  reference: string;
  tag: string;
  digest: string;
  mediaType: string;
  candidates: number;
  policy: Record<string, string>;
  via: string;
}
