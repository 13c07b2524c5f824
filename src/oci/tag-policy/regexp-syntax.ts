import { TagPolicyError } from "./types.js";

// The syntax of Go's regexp package (RE2), parsed into a tree the matcher in go-regexp.ts compiles:
// Go's constructs, Go's errors for what RE2 refuses, Go's ASCII classes and case folding.

const MAX_REPEAT = 1000;
const MAX_CP = 0x10ffff;

export interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

export type Assertion = "bot" | "eot" | "bol" | "eol" | "word" | "nonword";

export type Node =
  | { t: "char"; set: CharSet }
  | { t: "assert"; kind: Assertion }
  | { t: "cap"; index: number; node: Node }
  | { t: "cat"; nodes: Node[] }
  | { t: "alt"; nodes: Node[] }
  | { t: "rep"; node: Node; min: number; max: number; greedy: boolean }; // max -1: unbounded

/** A set of code points: sorted ranges, Unicode properties, optionally negated. */
export class CharSet {
  private readonly ascii = new Uint8Array(128);
  constructor(
    private readonly ranges: [number, number][],
    private readonly props: { re: RegExp; negated: boolean }[],
    private readonly negated: boolean,
  ) {
    for (let c = 0; c < 128; c++) this.ascii[c] = this.slowHas(c) ? 1 : 0;
  }

  has(c: number): boolean {
    return c < 128 ? this.ascii[c] === 1 : this.slowHas(c);
  }

  private slowHas(c: number): boolean {
    let found = this.ranges.some(([lo, hi]) => c >= lo && c <= hi);
    if (!found && this.props.length > 0) {
      const ch = String.fromCodePoint(c);
      found = this.props.some((p) => p.re.test(ch) !== p.negated);
    }
    return found !== this.negated;
  }
}

export class Parser {
  readonly names: string[] = [""];
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly what: string,
  ) {}

  fail(message: string): never {
    throw new TagPolicyError(`invalid ${this.what} ${JSON.stringify(this.src)}: ${message}`);
  }

  parse(): Node {
    const node = this.alternation({ i: false, m: false, s: false, U: false });
    if (this.pos < this.src.length) this.fail("unexpected )");
    return node;
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

  private alternation(flags: Flags): Node {
    const branches = [this.concat(flags)];
    while (this.peek() === "|") {
      this.pos++;
      branches.push(this.concat(flags));
    }
    return branches.length === 1 ? branches[0]! : { t: "alt", nodes: branches };
  }

  private concat(outer: Flags): Node {
    const flags = { ...outer }; // `(?i)` lasts to the end of the enclosing group
    const nodes: Node[] = [];
    for (;;) {
      const ch = this.peek();
      if (ch === undefined || ch === "|" || ch === ")") return { t: "cat", nodes };
      if (ch === "*" || ch === "+" || ch === "?") this.fail(`missing argument to repetition operator: ${ch}`);
      if (ch === "{" && this.repeatAhead()) this.fail("missing argument to repetition operator: {");
      if (ch === "(" && /^\(\?[imsU-]*\)/.test(this.src.slice(this.pos))) {
        this.pos += 2;
        this.parseFlags(flags, ")");
        continue;
      }
      const atom = this.atom(flags);
      const repeat = this.repeat(flags);
      if (repeat) {
        nodes.push({ t: "rep", node: atom, ...repeat });
        const after = this.peek();
        if (after === "*" || after === "+" || after === "?" || (after === "{" && this.repeatAhead())) {
          this.fail("invalid nested repetition operator");
        }
      } else {
        nodes.push(atom);
      }
    }
  }

  private repeatAhead(): boolean {
    return /^\{[0-9]+(?:,[0-9]*)?\}/.test(this.src.slice(this.pos));
  }

  private repeat(flags: Flags): { min: number; max: number; greedy: boolean } | undefined {
    const ch = this.peek();
    let min: number;
    let max: number;
    if (ch === "*" || ch === "+" || ch === "?") {
      this.pos++;
      min = ch === "+" ? 1 : 0;
      max = ch === "?" ? 1 : -1;
    } else if (ch === "{" && this.repeatAhead()) {
      const m = /^\{([0-9]+)(,([0-9]*))?\}/.exec(this.src.slice(this.pos))!;
      this.pos += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
      if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min))
        this.fail(`invalid repeat count: ${m[0]}`);
    } else {
      return undefined;
    }
    let greedy = true;
    if (this.peek() === "?") {
      this.pos++;
      greedy = false;
    }
    if (flags.U) greedy = !greedy; // (?U) swaps greedy and lazy
    return { min, max, greedy };
  }

  // The flags of `(?flags)` or `(?flags:…)`: letters imsU, optionally `-` then letters to clear.
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

  private atom(flags: Flags): Node {
    const ch = this.next();
    switch (ch) {
      case "(":
        return this.group(flags);
      case "[":
        return { t: "char", set: this.charClass(flags) };
      case ".":
        return { t: "char", set: new CharSet(flags.s ? [[0, MAX_CP]] : [[10, 10]], [], !flags.s) };
      case "^":
        return { t: "assert", kind: flags.m ? "bol" : "bot" };
      case "$":
        return { t: "assert", kind: flags.m ? "eol" : "eot" };
      case "\\":
        return this.escape(flags);
      default:
        return literal(ch.codePointAt(0)!, flags.i); // includes `{` that starts no repeat, `]`, `}`
    }
  }

  private group(flags: Flags): Node {
    const inner = { ...flags };
    let index = -1;
    if (this.peek() === "?") {
      const rest = this.src.slice(this.pos);
      const named = /^\?P?<([^>]*)>/.exec(rest);
      if (named && !/^\?<[=!]/.test(rest)) {
        const name = named[1]!;
        if (!/^[\p{L}\p{Nd}_]+$/u.test(name)) this.fail(`invalid named capture: ${JSON.stringify(name)}`);
        if (this.names.includes(name)) this.fail(`duplicate capture group name: ${name}`);
        this.pos += named[0].length;
        index = this.names.push(name) - 1;
      } else if (/^\?[imsU-]*:/.test(rest)) {
        this.pos += 1;
        this.parseFlags(inner, ":");
      } else {
        // (?=, (?!, (?<=, (?<!, (?#, (?P=name), (?>, … are not RE2.
        this.fail(`invalid or unsupported Perl syntax: (${rest.slice(0, 3)}`);
      }
    } else {
      index = this.names.push("") - 1;
    }
    const body = this.alternation(inner);
    if (this.peek() !== ")") this.fail("missing closing )");
    this.pos++;
    return index >= 0 ? { t: "cap", index, node: body } : body;
  }

  private escape(flags: Flags): Node {
    const ch = this.peek();
    if (ch === undefined) this.fail("trailing backslash at end of expression");
    const assertion: Record<string, Assertion> = { A: "bot", z: "eot", b: "word", B: "nonword" };
    if (assertion[ch]) {
      this.pos++;
      return { t: "assert", kind: assertion[ch] };
    }
    if (ch === "Q") {
      this.pos++;
      const end = this.src.indexOf("\\E", this.pos);
      const text = this.src.slice(this.pos, end < 0 ? undefined : end);
      this.pos = end < 0 ? this.src.length : end + 2;
      return { t: "cat", nodes: Array.from(text, (c) => literal(c.codePointAt(0)!, flags.i)) };
    }
    const ranges: [number, number][] = [];
    const props: { re: RegExp; negated: boolean }[] = [];
    if (this.classEscape(flags, ranges, props)) return { t: "char", set: new CharSet(ranges, props, false) };
    return literal(this.charEscape(), flags.i);
  }

  // \d \D \s \S \w \W (ASCII, as in Go) and \pX \p{Name} \PX \p{^Name}: adds to the set, or returns false.
  private classEscape(
    flags: Flags,
    ranges: [number, number][],
    props: { re: RegExp; negated: boolean }[],
  ): boolean {
    const ch = this.peek();
    if (ch === undefined) return false;
    const perl = PERL[ch.toLowerCase()];
    if (perl) {
      this.pos++;
      addSet(ranges, perl, ch !== ch.toLowerCase());
      return true;
    }
    if (ch !== "p" && ch !== "P") return false;
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
    const js = /^[A-Z][a-z]?$/.test(name) || name === "Any" ? name : `Script=${name}`;
    let re: RegExp;
    try {
      // Go folds case inside (?i) for Unicode classes too (\p{Lu} matches "a"); JS's `iu` does the same.
      re = new RegExp(`^\\p{${js}}$`, flags.i ? "iu" : "u");
    } catch {
      this.fail(`invalid character class range: \\p{${name}}`);
    }
    props.push({ re, negated });
    return true;
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
      for (let k = 1; k < 3 && /[0-7]/.test(this.peek() ?? ""); k++) value = value * 8 + Number(this.next());
      return value;
    }
    if (ch === "x") {
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
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (simple[ch] !== undefined) return simple[ch];
    return this.fail(`invalid escape sequence: \\${ch}`);
  }

  private charClass(flags: Flags): CharSet {
    let negated = false;
    if (this.peek() === "^") {
      this.pos++;
      negated = true;
    }
    const ranges: [number, number][] = [];
    const props: { re: RegExp; negated: boolean }[] = [];
    let first = true; // a `]` right after `[` or `[^` is a literal
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
        if (m) {
          const posix = POSIX[m[2]!];
          if (!posix) this.fail(`invalid character class range: ${m[0]}`);
          this.pos += m[0].length;
          addSet(ranges, posix, m[1] === "^");
          continue;
        }
      }
      if (ch === "\\") {
        this.pos++;
        if (this.classEscape(flags, ranges, props)) continue;
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
    if (flags.i) fold(ranges);
    return new CharSet(ranges, props, negated);
  }

  private classChar(): number {
    const ch = this.next();
    if (ch !== "\\") return ch.codePointAt(0)!;
    return this.charEscape();
  }
}

const PERL: Record<string, [number, number][]> = {
  d: [[0x30, 0x39]],
  s: [
    [9, 10],
    [12, 13],
    [32, 32],
  ],
  w: [
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
  word: PERL.w!,
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

// Go's simple case folding orbits beyond ASCII pairs: k K U+212A (Kelvin), s S U+017F (long s).
const ORBITS: number[][] = [
  [0x4b, 0x6b, 0x212a],
  [0x53, 0x73, 0x17f],
];

function foldsOf(c: number): number[] {
  const orbit = ORBITS.find((o) => o.includes(c));
  if (orbit) return orbit;
  const ch = String.fromCodePoint(c);
  const out = new Set([c]);
  for (const v of [ch.toLowerCase(), ch.toUpperCase()]) {
    const vc = v.codePointAt(0)!;
    if (v.length === String.fromCodePoint(vc).length) out.add(vc);
  }
  return [...out];
}

// (?i) in a class: add every case variant (ranges wider than 4096 code points fold only their ASCII part).
function fold(ranges: [number, number][]): void {
  for (const [lo, hi] of [...ranges]) {
    const top = hi - lo > 4096 ? Math.min(hi, 0x7f) : hi;
    for (let c = lo; c <= top; c++) {
      for (const f of foldsOf(c)) if (f < lo || f > hi) ranges.push([f, f]);
    }
  }
}

function literal(code: number, foldCase: boolean): Node {
  const ranges: [number, number][] = (foldCase ? foldsOf(code) : [code]).map((c) => [c, c]);
  return { t: "char", set: new CharSet(ranges, [], false) };
}
