import semver from "semver";
import { TagPolicyError, type TagChoice, type TagPolicy } from "./types.js";
import { parseVersionTag } from "./version.js";

export interface CompiledTagPolicy {
  readonly policy: TagPolicy;
  /** The winner among `tags`, or undefined when none qualifies. */
  select(tags: Iterable<string>): TagChoice | undefined;
}

// PLACEHOLDER (replaced by the tag-policy work): validates and compiles once, so a server can apply it to
// 50,000 tags without re-parsing.
export function compileTagPolicy(policy: TagPolicy): CompiledTagPolicy {
  const range = policy.semver ?? "*";
  if (!semver.validRange(range)) throw new TagPolicyError(`invalid semver range ${JSON.stringify(range)}`);
  return {
    policy,
    select(tags) {
      let best: { tag: string; version: semver.SemVer } | undefined;
      let candidates = 0;
      for (const tag of tags) {
        const parsed = parseVersionTag(tag);
        if (!parsed || !semver.satisfies(parsed.version, range)) continue;
        candidates++;
        if (!best || semver.gt(parsed.version, best.version)) best = parsed;
      }
      return best && { tag: best.tag, key: best.version.version, candidates };
    },
  };
}

export function selectTag(tags: Iterable<string>, policy: TagPolicy): TagChoice | undefined {
  return compileTagPolicy(policy).select(tags);
}
