import { compileGlob, type Matcher } from "../../auth/glob.js";
import { globProblem, quote, repositoryGlobProblem, ruleNameProblem } from "../rule-patterns.js";
import { compileTagPattern, isVersionTag, TagPolicyError } from "../../oci/tag-policy/index.js";

/** How a rule's tag pattern matches: a glob, a (linear-time) regex, or every version-looking tag. */
export type TagPatternKind = "glob" | "regex" | "semver";
export const TAG_PATTERN_KINDS: readonly TagPatternKind[] = ["glob", "regex", "semver"];

/** The keyword of the `semver` kind, the only pattern it takes. */
export const SEMVER_KEYWORD = "semver";
export const MAX_IMMUTABLE_RULES = 1000;
/**
 * Every push runs every matching rule's regex, so they are Go (RE2) regexps (re2js: linear in the tag,
 * never backtracking; no backreferences or lookarounds) and short: a tag is at most 128 characters, a
 * pattern at most this, so one match costs at most a few thousand automaton steps.
 */
export const MAX_REGEX_LENGTH = 256;

export interface ImmutableRule {
  name: string;
  /** A repository glob, as in access rules (`**`, `team-a/**`). */
  repositories: string;
  tags: string;
  kind: TagPatternKind;
  createdBy: string;
  createdAt: string;
}

export interface NewImmutableRule {
  name: string;
  repositories: string;
  tags: string;
  /** Defaults to `semver` for the pattern `semver`, else `glob`. */
  kind?: string;
}

export class ImmutableRuleError extends Error {
  constructor(
    readonly kind: "invalid" | "not_found" | "conflict",
    message: string,
  ) {
    super(message);
  }
}

/** A rule ready to match: both patterns compiled once, when the rules are loaded. */
export interface CompiledRule {
  rule: ImmutableRule;
  matches(repository: string, tag: string): boolean;
}

/** Tag characters plus glob syntax; tags are at most 128 characters, a glob a little more. */
const TAG_GLOB = /^[A-Za-z0-9_.\-*?{},![\]^]{1,255}$/;

/** Checks a new rule and fills in its kind; throws ImmutableRuleError saying what is wrong. */
export function validateRule(input: NewImmutableRule): Required<NewImmutableRule> & { kind: TagPatternKind } {
  const { name, repositories, tags } = input;
  const problem = ruleNameProblem(name, "rule") ?? repositoryGlobProblem(repositories);
  if (problem) throw invalid(problem);
  const kind = input.kind ?? (tags === SEMVER_KEYWORD ? "semver" : "glob");
  if (!(TAG_PATTERN_KINDS as readonly string[]).includes(kind)) {
    throw invalid(`invalid kind ${quote(kind)}: use ${TAG_PATTERN_KINDS.join(", ")}`);
  }
  if (kind === "semver" && tags !== SEMVER_KEYWORD) {
    throw invalid(`a rule of kind semver takes the tag pattern ${quote(SEMVER_KEYWORD)}, not ${quote(tags)}`);
  }
  if (kind === "glob") {
    if (!TAG_GLOB.test(tags)) {
      throw invalid(
        `invalid tag glob ${quote(tags)}: tag characters (A-Z a-z 0-9 _ . -) with globs ` +
          "(*, ?, [a-z], {a,b}), at most 255 characters",
      );
    }
    const problem = globProblem(tags, "tag glob");
    if (problem) throw invalid(problem);
  }
  if (kind === "regex") {
    if (tags.length > MAX_REGEX_LENGTH) {
      throw invalid(`invalid tag regex: longer than ${MAX_REGEX_LENGTH} characters`);
    }
    try {
      tagRegex(tags);
    } catch (err) {
      if (err instanceof TagPolicyError) throw invalid(err.message);
      throw err;
    }
  }
  return { name, repositories, tags, kind: kind as TagPatternKind };
}

export function compileRule(rule: ImmutableRule): CompiledRule {
  const repository = compileGlob(rule.repositories);
  const tag = tagMatcher(rule);
  return { rule, matches: (r, t) => repository(r) && tag(t) };
}

function tagMatcher(rule: ImmutableRule): Matcher {
  switch (rule.kind) {
    case "semver":
      return isVersionTag;
    case "regex": {
      const regex = tagRegex(rule.tags);
      return (tag) => regex.test(tag);
    }
    case "glob":
      return compileGlob(rule.tags);
  }
}

/** The whole tag must match (`release-.*` is not meant to match `prerelease-1`). */
function tagRegex(pattern: string) {
  return compileTagPattern(pattern, { fullMatch: true, what: "tag regex" });
}

function invalid(message: string): ImmutableRuleError {
  return new ImmutableRuleError("invalid", message);
}
