import { compileGlob, type Matcher } from "../../auth/glob.js";
import { RegistryError } from "../../oci/errors.js";
import { compileTagPattern, TagPolicyError } from "../../oci/tag-policy/index.js";
import { globProblem, quote, repositoryGlobProblem, ruleNameProblem } from "../rule-patterns.js";
import { MAX_REGEX_LENGTH } from "../immutable/rules.js";

export const MAX_RETENTION_POLICIES = 1000;
export const MAX_KEEP_TAGS = 50;
export const MAX_KEEP_LAST = 100_000;
/** `--keep-within`: a number and a unit, at most ten years. */
const DURATION = /^([1-9][0-9]{0,5})(h|d|w)$/;
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const MAX_WITHIN_MS = 3650 * 86_400_000;
/** Tag characters plus glob syntax (as immutable-tag rules take them). */
const TAG_GLOB = /^[A-Za-z0-9_.\-*?{},![\]^]{1,255}$/;

/** How `keepLast` orders tags: by push time (newest first) or by version (highest first). */
export type KeepLastOrder = "pushed" | "version";

/** A policy's rules, as stored (JSON in retention_policies.rules) and as the API takes them. */
export interface RetentionRules {
  /** Keep the N most recent tags, by push time or by version order (tags not versions are not counted). */
  keepLast?: { count: number; by: KeepLastOrder };
  /** Keep tags matching any of these globs. */
  keepTags?: string[];
  /** Keep tags the whole of which this Go (RE2) regexp matches. */
  keepRegex?: string;
  /** Keep tags pushed, or whose manifest was pulled, within this period (`30d`, `12h`, `2w`). */
  keepWithin?: string;
  /** Signed artifacts are kept unless this is set; immutable tags are always kept (never overridable). */
  removeSigned?: boolean;
}

export interface RetentionPolicy {
  name: string;
  /** A repository glob, as in access rules (`**`, `team-a/**`). */
  repositories: string;
  rules: RetentionRules;
  createdBy: string;
  createdAt: string;
}

export interface NewRetentionPolicy {
  name: string;
  repositories: string;
  rules: RetentionRules;
}

/** Bad input (400), a missing policy (404) or a name taken (409); `kind` for the CLI's local mode. */
export class RetentionError extends RegistryError {
  constructor(
    readonly kind: "invalid" | "not_found" | "conflict",
    message: string,
  ) {
    super(kind === "invalid" ? "INVALID_REQUEST" : kind === "not_found" ? "NOT_FOUND" : "CONFLICT", message);
  }
}

/** Checks a policy given by a client (any JSON), returning it with only the known rules. */
export function validatePolicy(input: {
  name: unknown;
  repositories: unknown;
  rules: unknown;
}): NewRetentionPolicy {
  const { name, repositories } = input;
  if (typeof name !== "string") throw invalid("name must be a string");
  if (typeof repositories !== "string") throw invalid("repositories must be a string (a repository glob)");
  const problem = ruleNameProblem(name, "policy") ?? repositoryGlobProblem(repositories);
  if (problem) throw invalid(problem);
  return { name, repositories, rules: validateRules(input.rules) };
}

export function validateRules(input: unknown): RetentionRules {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw invalid("rules must be an object (keepLast, keepTags, keepRegex, keepWithin, removeSigned)");
  }
  const raw = input as Record<string, unknown>;
  const known = ["keepLast", "keepTags", "keepRegex", "keepWithin", "removeSigned"];
  const unknown = Object.keys(raw).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    if (unknown === "removeImmutable" || unknown === "keepImmutable") {
      throw invalid("immutable tags are always kept: a retention policy cannot remove them");
    }
    throw invalid(`unknown rule ${quote(unknown)}: use ${known.join(", ")}`);
  }
  const rules: RetentionRules = {};
  if (raw.keepLast !== undefined) rules.keepLast = keepLast(raw.keepLast);
  if (raw.keepTags !== undefined) rules.keepTags = keepTags(raw.keepTags);
  if (raw.keepRegex !== undefined) {
    const pattern = raw.keepRegex;
    if (typeof pattern !== "string") throw invalid("keepRegex must be a string");
    if (pattern.length > MAX_REGEX_LENGTH)
      throw invalid(`keepRegex is longer than ${MAX_REGEX_LENGTH} characters`);
    try {
      tagRegex(pattern);
    } catch (err) {
      if (err instanceof TagPolicyError) throw invalid(err.message);
      throw err;
    }
    rules.keepRegex = pattern;
  }
  if (raw.keepWithin !== undefined) {
    if (typeof raw.keepWithin !== "string") throw invalid("keepWithin must be a string such as 30d");
    durationMs(raw.keepWithin);
    rules.keepWithin = raw.keepWithin;
  }
  if (raw.removeSigned !== undefined) {
    if (typeof raw.removeSigned !== "boolean") throw invalid("removeSigned must be true or false");
    if (raw.removeSigned) rules.removeSigned = true;
  }
  if (!rules.keepLast && !rules.keepTags && rules.keepRegex === undefined && !rules.keepWithin) {
    // A policy keeping nothing would remove every tag of every matching repository: never by accident.
    throw invalid("a policy needs at least one keep rule: keepLast, keepTags, keepRegex or keepWithin");
  }
  return rules;
}

function keepLast(value: unknown): { count: number; by: KeepLastOrder } {
  if (typeof value !== "object" || value === null) throw invalid("keepLast must be {count, by}");
  const { count, by = "pushed" } = value as Record<string, unknown>;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_KEEP_LAST) {
    throw invalid(`keepLast.count must be a whole number from 1 to ${MAX_KEEP_LAST}`);
  }
  if (by !== "pushed" && by !== "version")
    throw invalid(`keepLast.by must be pushed or version, not ${quote(String(by))}`);
  return { count, by };
}

function keepTags(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_KEEP_TAGS) {
    throw invalid(`keepTags must be a list of 1 to ${MAX_KEEP_TAGS} tag globs`);
  }
  return value.map((glob) => {
    if (typeof glob !== "string" || !TAG_GLOB.test(glob)) {
      throw invalid(
        `invalid tag glob ${quote(String(glob))}: tag characters (A-Z a-z 0-9 _ . -) with globs ` +
          "(*, ?, [a-z], {a,b}), at most 255 characters",
      );
    }
    const problem = globProblem(glob, "tag glob");
    if (problem) throw invalid(problem);
    return glob;
  });
}

/** `30d` → milliseconds; throws a clear error for anything else. */
export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : NaN;
  if (!m || ms > MAX_WITHIN_MS) {
    throw invalid(`invalid period ${quote(text)}: a number and h, d or w (12h, 30d, 2w), at most 3650d`);
  }
  return ms;
}

/** A policy ready to evaluate: patterns compiled once. */
export interface CompiledPolicy {
  policy: Pick<RetentionPolicy, "name" | "repositories" | "rules">;
  appliesTo: Matcher;
  keepTag: Matcher | undefined;
  keepRegex: Matcher | undefined;
  withinMs: number | undefined;
}

export function compilePolicy(
  policy: Pick<RetentionPolicy, "name" | "repositories" | "rules">,
): CompiledPolicy {
  const globs = policy.rules.keepTags?.map((g) => compileGlob(g));
  const regex = policy.rules.keepRegex === undefined ? undefined : tagRegex(policy.rules.keepRegex);
  return {
    policy,
    appliesTo: compileGlob(policy.repositories),
    keepTag: globs && ((tag) => globs.some((m) => m(tag))),
    keepRegex: regex && ((tag) => regex.test(tag)),
    withinMs: policy.rules.keepWithin === undefined ? undefined : durationMs(policy.rules.keepWithin),
  };
}

function tagRegex(pattern: string) {
  return compileTagPattern(pattern, { fullMatch: true, what: "keepRegex" });
}

function invalid(message: string): RetentionError {
  return new RetentionError("invalid", message);
}
