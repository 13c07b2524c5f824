import { TagPolicyError } from "./types.js";

// Go (RE2) regular expressions, translated to an equivalent JavaScript RegExp: the syntax Flux's
// `filterTags.pattern`, `semverFilter` and `extract` use, so patterns written for Flux work unchanged.
// Everything RE2 rejects (backreferences, lookaround, possessive or nested repetition, repeat counts over
// 1000) is rejected here too, and RE2 constructs JavaScript lacks are rewritten: `(?P<name>…)` groups,
// inline and scoped flags `(?i)`, `(?s:…)`, `(?m)`, `(?U)`, `\A`, `\z`, `\Q…\E`, `[[:alpha:]]`, `\pL`, and
// Go's ASCII `\d`, `\s`, `\w`. Matching is unanchored and leftmost-first, like Go's MatchString.

export const MAX_PATTERN_LENGTH = 512;
const MAX_REPEAT = 1000;
const MAX_CP = 0x10ffff;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

/** A compiled Go regexp: a JS RegExp whose groups are numbered as Go numbers them, plus Go's names. */
export class GoRegexp {
  private constructor(
    readonly source: string,
    private readonly re: RegExp,
    /** Index = group number (0 = whole match); "" for unnamed groups. */
    readonly names: readonly string[],
  ) {}

  static compile(pattern: string, what = "regex"): GoRegexp {
    if (pattern.length > MAX_PATTERN_LENGTH) {
      throw new TagPolicyError(`${what} is longer than ${MAX_PATTERN_LENGTH} characters`);
    }
    const translator = new Translator(pattern, what);
    const js = translator.translate();
    let re: RegExp;
    try {
      re = new RegExp(js, "u");
    } catch (err) {
      throw new TagPolicyError(`invalid ${what} ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
    return new GoRegexp(pattern, re, translator.names);
  }

  /** Go's FindStringSubmatch: the leftmost match and its groups (undefined = group did not take part). */
  exec(text: string): (string | undefined)[] | undefined {
    const m = this.re.exec(text);
    return m ? Array.from(m) : undefined;
  }

  test(text: string): boolean {
    return this.re.test(text);
  }

  /**
   * Go's Regexp.ExpandString: `$name`, `${name}`, `$1`, `$$`; a name is the longest run of letters, digits
   * and `_` (so `$1x` is the group named `1x`); an unknown or unmatched group expands to "".
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
      let index = -1;
      if (/^[0-9]+$/.test(name) && !(name.length > 1 && name.startsWith("0")) && name.length <= 8) {
        index = Number(name);
      } else {
        index = this.names.indexOf(name);
        if (index === 0) index = -1;
      }
      if (index >= 0 && index < match.length) out += match[index] ?? "";
    }
    return out + rest;
  }
}

class Translator {
  readonly names: string[] = [""];
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly what: string,
  ) {}

  private fail(message: string): never {
    throw new TagPolicyError(`invalid ${this.what} ${JSON.stringify(this.src)}: ${message}`);
  }

  translate(): string {
    const out = this.alternation({ i: false, m: false, s: false, U: false });
    if (this.pos < this.src.length) this.fail("unexpected )");
    return out;
  }

  private peek(offset = 0): string | undefined {
    const cp = this.src.codePointAt(this.pos + offset);
    return cp === undefined ? undefined : String.fromCodePoint(cp);
  }

  private next(): string {
    const ch = this.peek();
    if (ch === undefined) this.fail("unexpected end");
    this.pos += ch.length;
    return ch;
  }

  private alternation(flags: Flags): string {
    const branches = [this.concat(flags)];
    while (this.peek() === "|") {
      this.pos++;
      branches.push(this.concat(flags));
    }
    return branches.join("|");
  }

  private concat(outer: Flags): string {
    const flags = { ...outer }; // `(?i)` lasts to the end of the enclosing group
    let out = "";
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || ch === "|" || ch === ")") return out;
      if (ch === "*" || ch === "+" || ch === "?") this.fail(`missing argument to repetition operator: ${ch}`);
      if (ch === "{" && this.repeatAhead()) this.fail("missing argument to repetition operator: {");
      if (ch === "(" && this.peek(1) === "?" && this.flagGroupAhead()) {
        this.setFlags(flags);
        continue;
      }
      let atom = this.atom(flags);
      const repeat = this.repeat(flags);
      if (repeat) {
        // Quantify a group: JS refuses quantified assertions such as `^*`, which RE2 accepts.
        atom = `(?:${atom})${repeat}`;
        const after = this.peek();
        if (after === "*" || after === "+" || after === "?" || (after === "{" && this.repeatAhead())) {
          this.fail("invalid nested repetition operator");
        }
      }
      out += atom;
    }
  }

  private repeatAhead(): boolean {
    return /^\{[0-9]+(?:,[0-9]*)?\}/.test(this.src.slice(this.pos));
  }

  private repeat(flags: Flags): string | undefined {
    const ch = this.peek();
    let text: string;
    if (ch === "*" || ch === "+" || ch === "?") {
      this.pos++;
      text = ch;
    } else if (ch === "{" && this.repeatAhead()) {
      const m = /^\{([0-9]+)(,([0-9]*))?\}/.exec(this.src.slice(this.pos))!;
      this.pos += m[0].length;
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === "" ? undefined : Number(m[3]);
      if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) {
        this.fail(`invalid repeat count: ${m[0]}`);
      }
      text = m[0];
    } else {
      return undefined;
    }
    let lazy = false;
    if (this.peek() === "?") {
      this.pos++;
      lazy = true;
    }
    if (flags.U) lazy = !lazy; // (?U) swaps greedy and lazy
    return lazy ? `${text}?` : text;
  }

  private flagGroupAhead(): boolean {
    return /^\(\?[imsU-]*\)/.test(this.src.slice(this.pos));
  }

  // `(?flags)` or the flags of `(?flags:…)`: letters imsU, optionally `-` then letters to clear.
  private parseFlags(flags: Flags, end: string): void {
    let negate = false;
    let seen = false; // a flag since the `-`
    for (;;) {
      const ch = this.next();
      if (ch === end) {
        if (negate && !seen) this.fail("invalid or unsupported Perl syntax: `-` without a flag");
        return;
      }
      if (ch === "-") {
        if (negate) this.fail("invalid or unsupported Perl syntax: double negation in flags");
        negate = true;
        seen = false;
        continue;
      }
      if (ch !== "i" && ch !== "m" && ch !== "s" && ch !== "U")
        this.fail(`invalid or unsupported Perl syntax: (?${ch}`);
      flags[ch] = !negate;
      seen = true;
    }
  }

  private setFlags(flags: Flags): void {
    this.pos += 2; // (?
    this.parseFlags(flags, ")");
  }

  private atom(flags: Flags): string {
    const ch = this.next();
    switch (ch) {
      case "(":
        return this.group(flags);
      case "[":
        return this.charClass(flags);
      case ".":
        return flags.s ? "[^]" : "[^\\n]";
      case "^":
        return flags.m ? "(?<![^\\n])" : "^";
      case "$":
        return flags.m ? "(?![^\\n])" : "$";
      case "\\":
        return this.escape(flags);
      case "{":
        return "\\{"; // not a repeat: a literal brace in RE2
      case "}":
        return "\\}";
      default:
        return literal(ch.codePointAt(0)!, flags.i);
    }
  }

  private group(flags: Flags): string {
    let prefix = "(";
    const inner = { ...flags };
    if (this.peek() === "?") {
      const rest = this.src.slice(this.pos);
      const named = /^\?P?<([^>]*)>/.exec(rest);
      if (named) {
        const name = named[1]!;
        if (!/^[\p{L}\p{Nd}_]+$/u.test(name)) this.fail(`invalid named capture: ${JSON.stringify(name)}`);
        if (this.names.includes(name)) this.fail(`duplicate capture group name: ${name}`);
        this.pos += named[0].length;
        this.names.push(name);
      } else if (/^\?[imsU-]*:/.test(rest)) {
        this.pos += 1;
        this.parseFlags(inner, ":");
        prefix = "(?:";
      } else {
        // (?=, (?!, (?<=, (?<!, (?#, (?P=name), (?>, … are not RE2.
        this.fail(`invalid or unsupported Perl syntax: (${rest.slice(0, 3)}`);
      }
    } else {
      this.names.push("");
    }
    const body = this.alternation(inner);
    if (this.peek() !== ")") this.fail("missing closing )");
    this.pos++;
    return `${prefix}${body})`;
  }

  private escape(flags: Flags): string {
    const ch = this.peek();
    if (ch === undefined) this.fail("trailing backslash at end of expression");
    switch (ch) {
      case "A":
        this.pos++;
        return "^";
      case "z":
        this.pos++;
        return "$";
      case "b":
        this.pos++;
        return "\\b";
      case "B":
        this.pos++;
        return "\\B";
      case "Q": {
        this.pos++;
        const end = this.src.indexOf("\\E", this.pos);
        const text = this.src.slice(this.pos, end < 0 ? undefined : end);
        this.pos = end < 0 ? this.src.length : end + 2;
        return Array.from(text, (c) => literal(c.codePointAt(0)!, flags.i)).join("");
      }
    }
    const set = this.classEscape(flags);
    if (set) return set.negated ? `[^${set.body}]` : `[${set.body}]`;
    return literal(this.charEscape(), flags.i);
  }

  // \d \D \s \S \w \W (ASCII, as in Go) and \pX \p{Name} \PX \P{^Name}.
  private classEscape(flags: Flags): { body: string; negated: boolean } | undefined {
    const ch = this.peek();
    if (ch === undefined) return undefined;
    const perl = PERL[ch.toLowerCase()];
    if (perl && "dsw".includes(ch.toLowerCase())) {
      this.pos++;
      return { body: perl, negated: ch !== ch.toLowerCase() };
    }
    if (ch === "p" || ch === "P") {
      this.pos++;
      let name: string;
      if (this.peek() === "{") {
        const end = this.src.indexOf("}", this.pos);
        if (end < 0) this.fail("invalid character class range: missing }");
        name = this.src.slice(this.pos + 1, end);
        this.pos = end + 1;
      } else {
        name = this.next();
      }
      let negated = ch === "P";
      if (name.startsWith("^")) {
        negated = !negated;
        name = name.slice(1);
      }
      if (flags.i && /^(Lu|Ll|Lt)$/.test(name)) this.fail(`unsupported: \\p{${name}} under (?i)`);
      const js = /^[A-Z][a-z]?$/.test(name) ? name : name === "Any" ? "Any" : `Script=${name}`;
      return { body: `\\p{${js}}`, negated };
    }
    return undefined;
  }

  // A single-character escape (Go's parseEscape).
  private charEscape(): number {
    const ch = this.next();
    const c = ch.codePointAt(0)!;
    if (c < 0x80 && !/[0-9A-Za-z]/.test(ch)) return c; // escaped punctuation is literal
    if (ch >= "1" && ch <= "7" && !/[0-7]/.test(this.peek() ?? "")) {
      this.fail(`invalid escape sequence: \\${ch} (backreferences are not supported)`);
    }
    if (ch >= "0" && ch <= "7") {
      let value = c - 0x30;
      for (let n = 1; n < 3 && /[0-7]/.test(this.peek() ?? ""); n++) value = value * 8 + Number(this.next());
      return value;
    }
    switch (ch) {
      case "x": {
        if (this.peek() === "{") {
          const m = /^\{([0-9A-Fa-f]+)\}/.exec(this.src.slice(this.pos));
          if (!m || parseInt(m[1]!, 16) > MAX_CP) this.fail("invalid escape sequence: \\x{");
          this.pos += m[0].length;
          return parseInt(m[1]!, 16);
        }
        const m = /^[0-9A-Fa-f]{2}/.exec(this.src.slice(this.pos));
        if (!m) this.fail("invalid escape sequence: \\x");
        this.pos += 2;
        return parseInt(m[0], 16);
      }
      case "a":
        return 7;
      case "f":
        return 12;
      case "t":
        return 9;
      case "n":
        return 10;
      case "r":
        return 13;
      case "v":
        return 11;
    }
    return this.fail(`invalid escape sequence: \\${ch}`);
  }

  private charClass(flags: Flags): string {
    let negated = false;
    if (this.peek() === "^") {
      this.pos++;
      negated = true;
    }
    const ranges: [number, number][] = [];
    const extra: string[] = []; // \p{…} items JS keeps as they are
    let first = true;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) this.fail("missing closing ]");
      if (ch === "]" && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (ch === "[" && this.peek(1) === ":") {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(this.src.slice(this.pos));
        const posix = m && POSIX[m[2]!];
        if (m && posix) {
          this.pos += m[0].length;
          addSet(ranges, posix, m[1] === "^");
          continue;
        }
        if (m) this.fail(`invalid character class range: ${m[0]}`);
      }
      if (ch === "\\") {
        this.pos++;
        const set = this.classEscape(flags);
        if (set) {
          if (set.body.startsWith("\\p")) extra.push(set.negated ? set.body.replace("\\p", "\\P") : set.body);
          else addSet(ranges, PERL_RANGES[set.body]!, set.negated);
          continue;
        }
        this.pos--;
      }
      const lo = this.classChar();
      let hi = lo;
      if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== undefined) {
        this.pos++;
        hi = this.classChar();
        if (hi < lo) this.fail("invalid character class range");
      }
      ranges.push([lo, hi]);
    }
    if (flags.i) foldAscii(ranges);
    const body =
      ranges.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join("") + extra.join("");
    if (body === "") return negated ? "[^]" : "[]";
    return `[${negated ? "^" : ""}${body}]`;
  }

  private classChar(): number {
    const ch = this.next();
    if (ch !== "\\") return ch.codePointAt(0)!;
    if (this.peek() === "b") this.fail("invalid escape sequence: \\b in a character class");
    return this.charEscape();
  }
}

const PERL: Record<string, string> = { d: "0-9", s: "\\t\\n\\f\\r ", w: "0-9A-Za-z_" };
const PERL_RANGES: Record<string, [number, number][]> = {
  "0-9": [[0x30, 0x39]],
  "\\t\\n\\f\\r ": [
    [9, 10],
    [12, 13],
    [32, 32],
  ],
  "0-9A-Za-z_": [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const POSIX: Record<string, [number, number][]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0, 0x7f]],
  blank: [
    [9, 9],
    [32, 32],
  ],
  cntrl: [
    [0, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [9, 13],
    [32, 32],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

function addSet(into: [number, number][], set: readonly [number, number][], negated: boolean): void {
  if (!negated) {
    into.push(...set);
    return;
  }
  let next = 0;
  for (const [lo, hi] of [...set].sort((a, b) => a[0] - b[0])) {
    if (lo > next) into.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_CP) into.push([next, MAX_CP]);
}

// (?i) in a class: add the other case of every ASCII letter in it (tags are ASCII).
function foldAscii(ranges: [number, number][]): void {
  const add: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    for (const [from, to, shift] of [
      [0x61, 0x7a, -32],
      [0x41, 0x5a, 32],
    ] as const) {
      const a = Math.max(lo, from);
      const b = Math.min(hi, to);
      if (a <= b) add.push([a + shift, b + shift]);
    }
  }
  ranges.push(...add);
}

function cp(code: number): string {
  if (/[0-9A-Za-z]/.test(String.fromCodePoint(code))) return String.fromCodePoint(code);
  return `\\u{${code.toString(16)}}`;
}

function literal(code: number, fold: boolean): string {
  const ch = String.fromCodePoint(code);
  if (fold && /[A-Za-z]/.test(ch)) return `[${ch.toLowerCase()}${ch.toUpperCase()}]`;
  return cp(code);
}
