/**
 * Globs over repository names, matched in O(pattern × name) time by dynamic programming over
 * (pattern position, name position), never by a backtracking regular expression: a hostile name
 * cannot make a rule like `public/*-*-*` take longer than a few thousand steps.
 *
 * Semantics (those of picomatch with `dot: true`, which rules were written against): `*` is any run
 * without `/`, `?` one character other than `/`, `[abc]`, `[a-z]`, `[!a]` one such character, `{a,b}`
 * alternatives, `**` as a whole segment any number of segments (`team-a/**` matches `team-a` and
 * everything below it; `**\/x` matches `x` too), and a leading `!` negates the whole pattern.
 */

type Token =
  | { kind: "char"; char: string }
  /** `?` and `[...]`: one character other than `/` in (or, negated, not in) the set. */
  | { kind: "one"; test: (char: string) => boolean }
  /** `*`: any run of characters other than `/`. */
  | { kind: "star" }
  /** Inside `**`: any run of characters. */
  | { kind: "any" }
  /** An optional group: either go on with the next token or jump past the group to `skip`. */
  | { kind: "optional"; skip: number };

/** Brace expansion is bounded so a pattern cannot expand into millions of alternatives. */
const MAX_GLOB_ALTERNATIVES = 64;

export class GlobSyntaxError extends Error {}

export type Matcher = (name: string) => boolean;

/** Work done by a matcher: the (token, position) pairs it looked at, for tests of the time bound. */
export interface MatchStats {
  steps: number;
}

/** Compiles a glob; throws GlobSyntaxError for unbalanced brackets or braces, or too many alternatives. */
export function compileGlob(pattern: string, stats?: MatchStats): Matcher {
  const negated = pattern.startsWith("!");
  const body = negated ? pattern.slice(1) : pattern;
  const alternatives = expandBraces(body).map(tokenize);
  return (name) => alternatives.some((tokens) => matchTokens(tokens, name, stats)) !== negated;
}

/** `a{b,c{d,e}}` → `ab`, `acd`, `ace`. */
function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf("{");
  if (open < 0) {
    if (pattern.includes("}")) throw new GlobSyntaxError("unbalanced '}'");
    return [pattern];
  }
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      close = i;
      break;
    } else if (c === "," && depth === 1) commas.push(i);
  }
  if (close < 0) throw new GlobSyntaxError("unbalanced '{'");
  const prefix = pattern.slice(0, open);
  const suffixes = expandBraces(pattern.slice(close + 1));
  const bounds = [open, ...commas, close];
  const results: string[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    for (const middle of expandBraces(pattern.slice((bounds[k] ?? 0) + 1, bounds[k + 1]))) {
      for (const suffix of suffixes) {
        results.push(prefix + middle + suffix);
        if (results.length > MAX_GLOB_ALTERNATIVES) {
          throw new GlobSyntaxError(`more than ${MAX_GLOB_ALTERNATIVES} alternatives`);
        }
      }
    }
  }
  return results;
}

function tokenize(pattern: string): Token[] {
  const segments = pattern.split("/");
  const tokens: Token[] = [];
  const last = segments.length - 1;
  segments.forEach((segment, index) => {
    if (segment === "**") {
      if (last === 0) {
        tokens.push({ kind: "any" });
      } else if (index === last) {
        // `a/**`: `(/.*)?` — the slash before it belongs to the optional part.
        tokens.pop();
        tokens.push(
          { kind: "optional", skip: tokens.length + 3 },
          { kind: "char", char: "/" },
          { kind: "any" },
        );
      } else {
        // `**/b` and `a/**/b`: `(.*/)?`, the slash after it inside the optional part.
        tokens.push(
          { kind: "optional", skip: tokens.length + 3 },
          { kind: "any" },
          { kind: "char", char: "/" },
        );
      }
      return;
    }
    tokens.push(...segmentTokens(segment));
    if (index < last) tokens.push({ kind: "char", char: "/" });
  });
  return tokens;
}

function segmentTokens(segment: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] ?? "";
    if (c === "*") {
      // Runs of stars inside a segment are one star, as in picomatch.
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
    } else if (c === "?") {
      tokens.push({ kind: "one", test: () => true });
    } else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) throw new GlobSyntaxError("unbalanced '['");
      tokens.push({ kind: "one", test: characterClass(segment.slice(i + 1, end)) });
      i = end;
    } else if (c === "]") {
      throw new GlobSyntaxError("unbalanced ']'");
    } else {
      tokens.push({ kind: "char", char: c });
    }
  }
  return tokens;
}

/** `abc`, `a-z0-9`, `!a` or `^a` (negated). */
function characterClass(spec: string): (char: string) => boolean {
  const negated = spec.startsWith("!") || spec.startsWith("^");
  const body = negated ? spec.slice(1) : spec;
  const ranges: [string, string][] = [];
  for (let i = 0; i < body.length; i++) {
    const from = body[i] ?? "";
    if (body[i + 1] === "-" && i + 2 < body.length) {
      ranges.push([from, body[i + 2] ?? ""]);
      i += 2;
    } else ranges.push([from, from]);
  }
  return (char) => ranges.some(([from, to]) => char >= from && char <= to) !== negated;
}

/**
 * Whether tokens[0..] match name[0..]: reachable (token, position) pairs are computed position by
 * position, each pair at most once, so time is O(tokens × name length) whatever the pattern.
 */
function matchTokens(tokens: Token[], name: string, stats: MatchStats | undefined): boolean {
  const width = tokens.length + 1;
  let current = new Uint8Array(width);
  let next = new Uint8Array(width);
  addState(tokens, current, 0);
  for (let pos = 0; pos < name.length; pos++) {
    const char = name[pos] ?? "";
    next.fill(0);
    for (let t = 0; t < tokens.length; t++) {
      if (!current[t]) continue;
      if (stats) stats.steps++;
      const token = tokens[t];
      if (token === undefined) continue;
      if (token.kind === "char" && token.char === char) addState(tokens, next, t + 1);
      else if (token.kind === "one" && char !== "/" && token.test(char)) addState(tokens, next, t + 1);
      else if (token.kind === "star" && char !== "/") addState(tokens, next, t);
      else if (token.kind === "any") addState(tokens, next, t);
    }
    [current, next] = [next, current];
  }
  return current[tokens.length] === 1;
}

/** Marks state t and every state reachable from it without consuming a character. */
function addState(tokens: Token[], states: Uint8Array, t: number): void {
  if (states[t]) return;
  states[t] = 1;
  const token = tokens[t];
  if (token === undefined) return;
  if (token.kind === "star" || token.kind === "any") addState(tokens, states, t + 1);
  else if (token.kind === "optional") {
    addState(tokens, states, t + 1);
    addState(tokens, states, token.skip);
  }
}
