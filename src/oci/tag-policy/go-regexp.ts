import { TagPolicyError } from "./types.js";
import { Parser, type Assertion, type CharSet, type Node } from "./regexp-syntax.js";

// Go (RE2) regular expressions, as Flux's `filterTags.pattern`, `semverFilter` and `extract` use them, so
// patterns written for Flux work unchanged: Go's syntax (`(?P<name>…)`, `(?<name>…)`, inline and scoped
// flags `(?i)`, `(?s:…)`, `(?m)`, `(?U)`, `\A`, `\z`, `\Q…\E`, `[[:alpha:]]`, `\pL`, ASCII `\d` `\s` `\w`
// `\b`), Go's errors (backreferences, lookaround, possessive or nested repetition, repeat counts over 1000),
// and Go's matching: unanchored, leftmost-first submatches, in time linear in pattern × text. The matcher
// is RE2's BitState: a backtracker that never visits the same (instruction, position) twice, so no
// pattern (they reach the server) can make it backtrack exponentially as a JavaScript RegExp would.

export const MAX_PATTERN_LENGTH = 512;
const MAX_PROGRAM = 20_000;

const enum Op {
  Char,
  Split,
  Jmp,
  Save,
  Assert,
  Match,
}

type Inst =
  | { op: Op.Char; set: CharSet }
  | { op: Op.Split; x: number; y: number }
  | { op: Op.Jmp; x: number }
  | { op: Op.Save; n: number }
  | { op: Op.Assert; kind: Assertion }
  | { op: Op.Match };

/** A compiled Go regexp. Group 0 is the whole match; `names[i]` is group i's name ("" when unnamed). */
export class GoRegexp {
  private visited = new Uint32Array(0);
  private generation = 0;

  private constructor(
    readonly source: string,
    private readonly prog: Inst[],
    /** Index = group number (0 = whole match); "" for unnamed groups. */
    readonly names: readonly string[],
    private readonly anchored: boolean,
  ) {}

  static compile(pattern: string, what = "regex"): GoRegexp {
    if (pattern.length > MAX_PATTERN_LENGTH) {
      throw new TagPolicyError(`${what} is longer than ${MAX_PATTERN_LENGTH} characters`);
    }
    const parser = new Parser(pattern, what);
    const node = parser.parse();
    const prog: Inst[] = [{ op: Op.Save, n: 0 }];
    emit(prog, node, () => parser.fail("expression too large"));
    prog.push({ op: Op.Save, n: 1 }, { op: Op.Match });
    return new GoRegexp(pattern, prog, parser.names, startsWithBot(node));
  }

  /** Go's FindStringSubmatch: the leftmost-first match and its groups (undefined: did not take part). */
  exec(text: string): (string | undefined)[] | undefined {
    const cps: number[] = [];
    const offsets: number[] = [];
    for (let i = 0; i < text.length;) {
      const c = text.codePointAt(i)!;
      cps.push(c);
      offsets.push(i);
      i += c > 0xffff ? 2 : 1;
    }
    offsets.push(text.length);
    const caps = this.run(cps);
    if (!caps) return undefined;
    const out: (string | undefined)[] = [];
    for (let g = 0; g < this.names.length; g++) {
      const a = caps[2 * g]!;
      const b = caps[2 * g + 1]!;
      out.push(a < 0 || b < 0 ? undefined : text.slice(offsets[a], offsets[b]));
    }
    return out;
  }

  test(text: string): boolean {
    return this.exec(text) !== undefined;
  }

  private run(cps: number[]): Int32Array | undefined {
    const n = cps.length;
    const size = this.prog.length * (n + 1);
    if (this.visited.length < size) this.visited = new Uint32Array(size);
    if (++this.generation === 0xffffffff) {
      this.visited.fill(0);
      this.generation = 1;
    }
    const gen = this.generation;
    const visited = this.visited;
    const prog = this.prog;
    const caps = new Int32Array(2 * this.names.length).fill(-1);
    // Jobs: [pc, pos] to explore, or [-1 - capIndex, oldValue] to undo a Save when backtracking.
    const stack: number[] = [];
    for (let start = 0; start <= n; start++) {
      stack.push(0, start);
      while (stack.length > 0) {
        let pos = stack.pop()!;
        let pc = stack.pop()!;
        if (pc < 0) {
          caps[-1 - pc] = pos;
          continue;
        }
        for (;;) {
          const slot = pc * (n + 1) + pos;
          if (visited[slot] === gen) break;
          visited[slot] = gen;
          const inst = prog[pc]!;
          if (inst.op === Op.Char) {
            if (pos < n && inst.set.has(cps[pos]!)) {
              pc++;
              pos++;
              continue;
            }
            break;
          }
          if (inst.op === Op.Split) {
            stack.push(inst.y, pos);
            pc = inst.x;
            continue;
          }
          if (inst.op === Op.Jmp) {
            pc = inst.x;
            continue;
          }
          if (inst.op === Op.Save) {
            stack.push(-1 - inst.n, caps[inst.n]!);
            caps[inst.n] = pos;
            pc++;
            continue;
          }
          if (inst.op === Op.Assert) {
            if (!assertAt(inst.kind, cps, pos)) break;
            pc++;
            continue;
          }
          return caps; // Match: the first one found is the leftmost-first match
        }
      }
      if (this.anchored) break;
    }
    return undefined;
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
      let index: number;
      if (/^[0-9]{1,8}$/.test(name) && !(name.length > 1 && name.startsWith("0"))) index = Number(name);
      else index = name === "" ? -1 : this.names.indexOf(name, 1);
      if (index >= 0 && index < match.length) out += match[index] ?? "";
    }
    return out + rest;
  }
}

function isWordChar(c: number | undefined): boolean {
  return (
    c !== undefined &&
    ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f)
  );
}

function assertAt(kind: Assertion, cps: number[], pos: number): boolean {
  switch (kind) {
    case "bot":
      return pos === 0;
    case "eot":
      return pos === cps.length;
    case "bol":
      return pos === 0 || cps[pos - 1] === 10;
    case "eol":
      return pos === cps.length || cps[pos] === 10;
    case "word":
      return isWordChar(cps[pos - 1]) !== isWordChar(cps[pos]);
    case "nonword":
      return isWordChar(cps[pos - 1]) === isWordChar(cps[pos]);
  }
}

function startsWithBot(node: Node): boolean {
  if (node.t === "assert") return node.kind === "bot";
  if (node.t === "cat") return node.nodes.length > 0 && startsWithBot(node.nodes[0]!);
  if (node.t === "cap") return startsWithBot(node.node);
  return false;
}

// Compiles so that control falls through to the next instruction after the node's code.
function emit(prog: Inst[], node: Node, tooLarge: () => never): void {
  if (prog.length > MAX_PROGRAM) tooLarge();
  switch (node.t) {
    case "char":
      prog.push({ op: Op.Char, set: node.set });
      return;
    case "assert":
      prog.push({ op: Op.Assert, kind: node.kind });
      return;
    case "cap":
      prog.push({ op: Op.Save, n: 2 * node.index });
      emit(prog, node.node, tooLarge);
      prog.push({ op: Op.Save, n: 2 * node.index + 1 });
      return;
    case "cat":
      for (const child of node.nodes) emit(prog, child, tooLarge);
      return;
    case "alt": {
      const jumps: { op: Op.Jmp; x: number }[] = [];
      node.nodes.forEach((child, i) => {
        if (i === node.nodes.length - 1) {
          emit(prog, child, tooLarge);
          return;
        }
        const split = { op: Op.Split as const, x: prog.length + 1, y: -1 };
        prog.push(split);
        emit(prog, child, tooLarge);
        const jump = { op: Op.Jmp as const, x: -1 };
        prog.push(jump);
        jumps.push(jump);
        split.y = prog.length;
      });
      for (const jump of jumps) jump.x = prog.length;
      return;
    }
    case "rep": {
      for (let k = 0; k < node.min; k++) emit(prog, node.node, tooLarge);
      if (node.max < 0) {
        const loop = prog.length;
        const split = { op: Op.Split as const, x: -1, y: -1 };
        prog.push(split);
        emit(prog, node.node, tooLarge);
        prog.push({ op: Op.Jmp, x: loop });
        const body = loop + 1;
        const exit = prog.length;
        split.x = node.greedy ? body : exit;
        split.y = node.greedy ? exit : body;
        return;
      }
      const splits: { op: Op.Split; x: number; y: number }[] = [];
      for (let k = node.min; k < node.max; k++) {
        const split = { op: Op.Split as const, x: -1, y: -1 };
        prog.push(split);
        splits.push(split);
        const body = prog.length;
        emit(prog, node.node, tooLarge);
        split.x = body; // y patched to the common exit below
      }
      const exit = prog.length;
      for (const split of splits) {
        if (node.greedy) split.y = exit;
        else {
          split.y = split.x;
          split.x = exit;
        }
      }
      return;
    }
  }
}
