import { SemverRange } from "./constraints.js";
import { parseGoFloat } from "./go-float.js";
import { GoRegexp } from "./go-regexp.js";
import { validatePolicy } from "./policy.js";
import { TagPolicyError, type TagChoice, type TagPolicy } from "./types.js";
import { parseVersionTag, type Version } from "./version.js";

export interface CompiledTagPolicy {
  readonly policy: TagPolicy;
  /**
   * The winner among `tags`, or undefined when none qualifies. Throws TagPolicyError when a numerical
   * order meets a candidate that is not a number.
   */
  select(tags: Iterable<string>): TagChoice | undefined;
}

// Cosign's `sha256-<hex>.sig|.att|.sbom` and the referrers API's fallback `sha256-<hex>` tags.
const REFERRER_TAG = /^sha(?:256-[0-9a-f]{64}|512-[0-9a-f]{128})|\.(?:sig|att|sbom)$/;

export function isReferrerTag(tag: string): boolean {
  return REFERRER_TAG.test(tag);
}

interface Candidate<K> {
  tag: string;
  key: K;
  text: string;
}

/**
 * Validates and compiles a policy once (range, regexes), so a server can apply it to 50,000 tags without
 * re-parsing. Selection follows Flux:
 * - `semver`: tags that parse as versions (fluxcd/pkg ParseVersion, or Helm's with `helm`) and satisfy the
 *   range; after `semverFilter` (OCIRepository) or `filter`/`extract` (ImagePolicy, on the extracted text);
 *   the highest version wins.
 * - `order: "numerical"`: every candidate must parse as Go's ParseFloat does, or the selection fails;
 *   `order: "alphabetical"`: byte order. Ascending (default) picks the largest, descending the smallest.
 * - Equal ranks: the tag that sorts last in byte order wins (see TagPolicy).
 */
export function compileTagPolicy(policy: TagPolicy): CompiledTagPolicy {
  validatePolicy(policy);
  const filter = policy.filter !== undefined ? GoRegexp.compile(policy.filter, "filter regex") : undefined;
  const semverFilter =
    policy.semverFilter !== undefined
      ? GoRegexp.compile(policy.semverFilter, "semverFilter regex")
      : undefined;
  const range = policy.semver !== undefined ? SemverRange.parse(policy.semver) : undefined;
  const helm = policy.helm === true;
  const keepReferrers = policy.includeReferrerTags === true;
  const desc = policy.direction === "desc";

  // The text the policy ranks for a tag, or undefined when the tag is filtered out.
  const textOf = (tag: string): string | undefined => {
    if (!keepReferrers && isReferrerTag(tag)) return undefined;
    if (semverFilter && !semverFilter.test(tag)) return undefined;
    if (!filter) return tag;
    // Without extract no submatches are needed, and re2js answers a plain test from its DFA.
    if (policy.extract === undefined) return filter.test(tag) ? tag : undefined;
    const match = filter.exec(tag);
    return match && filter.expand(policy.extract, match);
  };

  const pick = <K>(
    tags: Iterable<string>,
    keyOf: (text: string, tag: string) => K | undefined,
    rank: (a: K, b: K) => number,
  ) => {
    let best: Candidate<K> | undefined;
    let candidates = 0;
    for (const tag of tags) {
      const text = textOf(tag);
      if (text === undefined) continue;
      const key = keyOf(text, tag);
      if (key === undefined) continue;
      candidates++;
      if (!best) {
        best = { tag, key, text };
        continue;
      }
      const d = rank(key, best.key);
      if (d > 0 || (d === 0 && compareBytes(tag, best.tag) > 0)) best = { tag, key, text };
    }
    return best && { best, candidates };
  };

  if (range) {
    return {
      policy,
      select(tags) {
        const result = pick<Version>(
          tags,
          (text) => {
            const parsed = parseVersionTag(text, { helm });
            return parsed && range.check(parsed.version) ? parsed.version : undefined;
          },
          (a, b) => a.compare(b),
        );
        return (
          result && { tag: result.best.tag, key: result.best.key.toString(), candidates: result.candidates }
        );
      },
    };
  }
  if (policy.order === "numerical") {
    return {
      policy,
      select(tags) {
        // Every candidate must be a number; the one named is the first in byte order, so the error does
        // not depend on the order a registry lists its tags in.
        let bad: { text: string; tag: string } | undefined;
        const result = pick<number>(
          tags,
          (text, tag) => {
            const value = parseGoFloat(text);
            if (value === undefined) {
              if (!bad || compareBytes(tag, bad.tag) < 0) bad = { text, tag };
            }
            return value;
          },
          (a, b) => compareNumbers(a, b) * (desc ? -1 : 1),
        );
        if (bad) {
          const what =
            bad.text === bad.tag
              ? `tag ${JSON.stringify(bad.tag)}`
              : `${JSON.stringify(bad.text)} (from tag ${JSON.stringify(bad.tag)})`;
          throw new TagPolicyError(`numerical order: ${what} is not a number`);
        }
        return result && { tag: result.best.tag, key: result.best.text, candidates: result.candidates };
      },
    };
  }
  return {
    policy,
    select(tags) {
      const result = pick<string>(
        tags,
        (text) => text,
        (a, b) => compareBytes(a, b) * (desc ? -1 : 1),
      );
      return result && { tag: result.best.tag, key: result.best.text, candidates: result.candidates };
    },
  };
}

export function selectTag(tags: Iterable<string>, policy: TagPolicy): TagChoice | undefined {
  return compileTagPolicy(policy).select(tags);
}

// Go's float comparisons leave NaN unordered; a total order keeps selection deterministic: NaN is smallest.
function compareNumbers(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Go's string order: UTF-8 bytes, i.e. code points (JS's `<` compares UTF-16 units). */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (a code point above U+FFFF) sorts above every BMP unit when compared as code points.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}
