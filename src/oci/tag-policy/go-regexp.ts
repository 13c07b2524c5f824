import { RE2JS, RE2JSException } from "re2js";
import { TagPolicyError } from "./types.js";

// Go (RE2) regular expressions, as Flux's `filterTags.pattern`, `semverFilter` and `extract` use them, so
// patterns written for Flux work unchanged. re2js is a port of RE2/J, which follows Go's regexp/syntax:
// `(?P<name>…)` and `(?<name>…)`, flags `(?i)` `(?s:…)` `(?m)` `(?U)`, `\A` `\z` `\Q…\E`, `[[:alpha:]]`,
// `\pL`, ASCII `\d` `\s` `\w` `\b`; Go's errors (backreferences, lookaround, nested repetition, repeat
// counts over 1000); unanchored, leftmost-first matching in time linear in the text, so a pattern (they
// reach the server) cannot make it backtrack exponentially as a JavaScript RegExp would.

export const MAX_PATTERN_LENGTH = 512;
// Bounds the cost of one match (re2js's program size ~ instructions): `\pL{1000}` is about 1,000, a Flux
// pattern like `^main-[a-f0-9]+-(?P<ts>[0-9]+)$` about 20.
const MAX_PROGRAM = 20_000;

function compileRe2(pattern: string, what: string): RE2JS {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    throw new TagPolicyError(`${what} is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  const invalid = (message: string) =>
    new TagPolicyError(`invalid ${what} ${JSON.stringify(pattern)}: ${message}`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern); // no flags: Go's defaults
  } catch (err) {
    if (err instanceof RE2JSException) throw invalid(err.message.replace(/^error parsing regexp: /, ""));
    throw err;
  }
  if (re.programSize() > MAX_PROGRAM) throw invalid("expression too large");
  return re;
}

/** A compiled Go regexp. Group 0 is the whole match; `names[i]` is group i's name ("" when unnamed). */
export class GoRegexp {
  private constructor(
    readonly source: string,
    private readonly re: RE2JS,
    /** Index = group number (0 = whole match); "" for unnamed groups. */
    readonly names: readonly string[],
  ) {}

  static compile(pattern: string, what = "regex"): GoRegexp {
    const re = compileRe2(pattern, what);
    const names: string[] = new Array<string>(re.groupCount() + 1).fill("");
    for (const [name, index] of Object.entries(re.namedGroups())) names[index] = name;
    return new GoRegexp(pattern, re, names);
  }

  /** Go's FindStringSubmatch: the leftmost-first match and its groups (undefined: did not take part). */
  exec(text: string): (string | undefined)[] | undefined {
    const m = this.re.matcher(text);
    if (!m.find()) return undefined;
    const out: (string | undefined)[] = [];
    for (let g = 0; g < this.names.length; g++) out.push(m.group(g) ?? undefined);
    return out;
  }

  /** Go's MatchString: does the pattern match anywhere in `text`. */
  test(text: string): boolean {
    return this.re.test(text);
  }

  /**
   * Go's Regexp.ExpandString: `$name`, `${name}`, `$1`, `$$`; a name is the longest run of letters, digits
   * and `_` (so `$1x` is the group named `1x`); an unknown or unmatched group expands to "". (re2js's own
   * replacement syntax is JavaScript's or Java's, which read `$1x` differently.)
   */
  expand(template: string, match: readonly (string | undefined)[]): string {
    let out = "";
    let rest = template;
    for (;;) {
      const at = rest.indexOf("$");
      if (at < 0) break;
      out += rest.slice(0, at);
      rest = rest.slice(at + 1);
      if (rest.startsWith("$")) {
        out += "$";
        rest = rest.slice(1);
        continue;
      }
      const ref = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(rest);
      if (!ref) {
        out += "$"; // malformed: the `$` is kept as text
        continue;
      }
      rest = rest.slice(ref[0].length);
      const name = (ref[1] ?? ref[2])!;
      let index: number;
      if (/^[0-9]{1,8}$/.test(name) && !(name.length > 1 && name.startsWith("0"))) index = Number(name);
      else index = name === "" ? -1 : this.names.indexOf(name, 1);
      if (index >= 0 && index < match.length) out += match[index] ?? "";
    }
    return out + rest;
  }
}

export interface TagPattern {
  test(tag: string): boolean;
}

export interface TagPatternOptions {
  /** The whole tag must match, as if the pattern were `^(?:…)$` (Go's MatchString is unanchored). */
  fullMatch?: boolean;
  /** Names the pattern in errors ("tag pattern" by default). */
  what?: string;
}

/**
 * A Go regexp for matching tags (immutability rules, filters): the engine and bounds of GoRegexp, without
 * submatches, so re2js can answer from its DFA. Throws TagPolicyError on an empty, over-long or invalid
 * pattern.
 */
export function compileTagPattern(pattern: string, options: TagPatternOptions = {}): TagPattern {
  const what = options.what ?? "tag pattern";
  if (pattern === "") throw new TagPolicyError(`the ${what} is empty`);
  const re = compileRe2(pattern, what);
  return options.fullMatch ? { test: (tag) => re.testExact(tag) } : { test: (tag) => re.test(tag) };
}
