import semver from "semver";

/** A tag that parses as a version: three numeric parts, optional `v`, pre-release and build. */
export interface VersionTag {
  tag: string;
  version: semver.SemVer;
}

// PLACEHOLDER (replaced by the tag-policy work): Flux's ParseVersion semantics.
export function parseVersionTag(tag: string): VersionTag | undefined {
  const text = tag.replaceAll("_", "+");
  const version = semver.valid(text.startsWith("v") ? text.slice(1) : text);
  return version ? { tag, version: new semver.SemVer(version) } : undefined;
}

export function isVersionTag(tag: string): boolean {
  return parseVersionTag(tag) !== undefined;
}
