/**
 * Regular expressions for immutable-tag rules, matched in linear time. Every push runs every rule, so
 * a backtracking engine (JavaScript's RegExp) is not safe: `(a|a)*b` or `(x+)+y` would take exponential
 * time on a 128-character tag. Patterns are compiled here into a Thompson NFA and simulated state set
 * by state set: time is O(states × tag length), at most MAX_STATES × 128 steps, whatever the pattern.
 *
 * The syntax is the subset of RE2 (Go, which Flux patterns are written for) and JavaScript that such
 * an automaton can run: literals, `.`, escapes (`\d \w \s` and their negations, escaped punctuation),
 * classes `[a-z0-9._-]`, `[^...]`, groups `(...)`, `(?:...)`, `(?P<name>...)`, `(?<name>...)`,
 * alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` (lazy forms accepted: laziness does not change
 * whether a tag matches). Backreferences, lookarounds, word boundaries and flags are refused. The whole
 * tag must match (as if wrapped in `^(?:…)$`); a leading `^` and trailing `$` are allowed and redundant.
 */

export class TagRegexError extends Error {}

export const MAX_REGEX_LENGTH = 256;
/** Bounds the automaton (and so the cost of one match): counted repetitions expand into copies. */
const MAX_STATES = 2048;
const MAX_REPEAT = 128;

type CharTest = (c: string) => boolean;

type Node =
  | { kind: "char"; test: CharTest }
  | { kind: "seq"; items: Node[] }
  | { kind: "alt"; options: Node[] }
  | { kind: "repeat"; node: Node; min: number; max: number | undefined };

/** An NFA state: consumes one character (test) or branches without consuming (out list). */
interface State {
  test?: CharTest;
  out: number[];
}

export type TagMatcher = (tag: string) => boolean;

/** Work done by matchers: states visited, for tests of the time bound. */
export interface RegexStats {
  steps: number;
  /** The automaton's size, set when compiled. */
  states: number;
}

export function compileTagRegex(pattern: string, stats?: RegexStats): TagMatcher {
  if (pattern.length === 0) throw new TagRegexError("the pattern is empty");
  if (pattern.length > MAX_REGEX_LENGTH) {
    throw new TagRegexError(`the pattern is longer than ${MAX_REGEX_LENGTH} characters`);
  }
  const ast = new Parser(pattern).parse();
  const nfa = new Builder();
  const start = nfa.add({ out: [] });
  const end = nfa.build(ast, start);
  const accept = nfa.add({ out: [] });
  nfa.states[end]?.out.push(accept);
  const states = nfa.states;
  if (stats) stats.states = states.length;
  return (tag) => simulate(states, start, accept, tag, stats);
}

function simulate(
  states: State[],
  start: number,
  accept: number,
  tag: string,
  stats: RegexStats | undefined,
): boolean {
  let current = new Uint8Array(states.length);
  let next = new Uint8Array(states.length);
  const add = (set: Uint8Array, s: number) => {
    // Iterative closure: no recursion depth to worry about on long epsilon chains.
    const stack = [s];
    while (stack.length > 0) {
      const t = stack.pop() as number;
      if (set[t]) continue;
      if (stats) stats.steps++;
      set[t] = 1;
      const state = states[t];
      if (state && !state.test) stack.push(...state.out);
    }
  };
  add(current, start);
  for (const c of tag) {
    next.fill(0);
    let any = false;
    for (let s = 0; s < states.length; s++) {
      const state = states[s];
      if (!current[s] || !state?.test) continue;
      if (stats) stats.steps++;
      if (!state.test(c)) continue;
      for (const o of state.out) add(next, o);
      any = true;
    }
    if (!any) return false;
    [current, next] = [next, current];
  }
  return current[accept] === 1;
}

class Builder {
  readonly states: State[] = [];

  add(state: State): number {
    if (this.states.length >= MAX_STATES) {
      throw new TagRegexError(`the pattern is too complex (more than ${MAX_STATES} states)`);
    }
    this.states.push(state);
    return this.states.length - 1;
  }

  /** Appends `node` after state `from` (whose out list it extends); returns the state it ends in. */
  build(node: Node, from: number): number {
    switch (node.kind) {
      case "char": {
        const consume = this.add({ test: node.test, out: [] });
        this.states[from]?.out.push(consume);
        const after = this.add({ out: [] });
        this.states[consume]?.out.push(after);
        return after;
      }
      case "seq":
        return node.items.reduce((at, item) => this.build(item, at), from);
      case "alt": {
        const join = this.add({ out: [] });
        for (const option of node.options) {
          const branch = this.add({ out: [] });
          this.states[from]?.out.push(branch);
          this.states[this.build(option, branch)]?.out.push(join);
        }
        return join;
      }
      case "repeat": {
        let at = from;
        for (let i = 0; i < node.min; i++) at = this.build(node.node, at);
        if (node.max === undefined) {
          // A loop: enter (or skip) the body, and from its end go back to the loop's head.
          const head = this.add({ out: [] });
          this.states[at]?.out.push(head);
          const exit = this.add({ out: [] });
          const body = this.add({ out: [] });
          this.states[head]?.out.push(body, exit);
          this.states[this.build(node.node, body)]?.out.push(head);
          return exit;
        }
        const exit = this.add({ out: [] });
        for (let i = node.min; i < node.max; i++) {
          this.states[at]?.out.push(exit);
          at = this.build(node.node, at);
        }
        this.states[at]?.out.push(exit);
        return exit;
      }
    }
  }
}

const DIGIT: CharTest = (c) => c >= "0" && c <= "9";
const WORD: CharTest = (c) => DIGIT(c) || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
const SPACE: CharTest = (c) => " \t\n\r\f\v".includes(c);
const not =
  (test: CharTest): CharTest =>
  (c) =>
    !test(c);

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parse(): Node {
    if (this.text.startsWith("^")) this.pos = 1;
    const node = this.alternation();
    if (this.pos < this.text.length) {
      const c = this.text[this.pos];
      throw this.error(c === ")" ? "unbalanced ')'" : `unexpected '${c}'`);
    }
    return node;
  }

  private error(why: string): TagRegexError {
    return new TagRegexError(`${why} at position ${this.pos + 1}`);
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.peek() === "|") {
      this.pos++;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] as Node) : { kind: "alt", options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === "|" || c === ")") break;
      if (c === "$") {
        // Only as the very end of the pattern (matching is anchored anyway).
        if (this.pos !== this.text.length - 1) throw this.error("'$' is only allowed at the end");
        this.pos++;
        break;
      }
      items.push(this.quantified(this.atom()));
    }
    return items.length === 1 ? (items[0] as Node) : { kind: "seq", items };
  }

  private quantified(node: Node): Node {
    const c = this.peek();
    let min: number;
    let max: number | undefined;
    if (c === "*") [min, max] = [0, undefined];
    else if (c === "+") [min, max] = [1, undefined];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") {
      const counted = /^\{(\d+)(,(\d*))?\}/.exec(this.text.slice(this.pos));
      // `{` that is not a repetition is a literal, as in RE2.
      if (!counted) return node;
      min = Number(counted[1]);
      max = counted[2] === undefined ? min : counted[3] === "" ? undefined : Number(counted[3]);
      if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) {
        throw this.error(`invalid repetition ${counted[0]} (counts up to ${MAX_REPEAT}, min ≤ max)`);
      }
      this.pos += counted[0].length - 1;
    } else return node;
    this.pos++;
    if (this.peek() === "?") this.pos++;
    const after = this.peek();
    if (after === "*" || after === "+" || (after === "?" && c !== "?")) {
      throw this.error("a quantifier cannot follow a quantifier");
    }
    return { kind: "repeat", node, min, max };
  }

  private atom(): Node {
    const c = this.peek() as string;
    this.pos++;
    switch (c) {
      case "(":
        return this.group();
      case "[":
        return { kind: "char", test: this.charClass() };
      case ".":
        return { kind: "char", test: (x) => x !== "\n" };
      case "\\":
        return { kind: "char", test: this.escape(false) };
      case "*":
      case "+":
      case "?":
        throw this.error(`nothing to repeat before '${c}'`);
      case "^":
        throw this.error("'^' is only allowed at the start");
      default:
        return { kind: "char", test: (x) => x === c };
    }
  }

  private group(): Node {
    const rest = this.text.slice(this.pos);
    const named = /^\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
    if (named) this.pos += named[0].length;
    else if (rest.startsWith("?:")) this.pos += 2;
    else if (rest.startsWith("?")) {
      throw this.error("lookarounds, flags and other (?...) groups are not supported");
    }
    const node = this.alternation();
    if (this.peek() !== ")") throw this.error("unbalanced '('");
    this.pos++;
    return node;
  }

  /** After a backslash: a class escape or an escaped literal. */
  private escape(inClass: boolean): CharTest {
    const c = this.peek();
    if (c === undefined) throw this.error("trailing backslash");
    this.pos++;
    switch (c) {
      case "d":
        return DIGIT;
      case "D":
        return not(DIGIT);
      case "w":
        return WORD;
      case "W":
        return not(WORD);
      case "s":
        return SPACE;
      case "S":
        return not(SPACE);
      case "t":
        return (x) => x === "\t";
      case "n":
        return (x) => x === "\n";
    }
    if (/[A-Za-z0-9]/.test(c)) {
      const what = /[1-9]/.test(c) ? "backreferences" : c === "b" || c === "B" ? "word boundaries" : `\\${c}`;
      throw new TagRegexError(`${what} ${inClass ? "in a class " : ""}not supported at position ${this.pos}`);
    }
    return (x) => x === c;
  }

  /** After `[`: up to the closing `]` (a `]` first in the class is a literal). */
  private charClass(): CharTest {
    const negated = this.peek() === "^";
    if (negated) this.pos++;
    const tests: CharTest[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw this.error("unbalanced '['");
      if (c === "]" && !first) break;
      first = false;
      if (c === "[" && this.text[this.pos + 1] === ":") throw this.error("POSIX classes are not supported");
      this.pos++;
      if (c === "\\") {
        tests.push(this.escape(true));
        continue;
      }
      if (this.peek() === "-" && this.text[this.pos + 1] !== undefined && this.text[this.pos + 1] !== "]") {
        this.pos++;
        let to = this.peek() as string;
        this.pos++;
        if (to === "\\") {
          to = this.peek() ?? "";
          this.pos++;
        }
        if (to < c) throw this.error(`invalid range ${c}-${to}`);
        tests.push((x) => x >= c && x <= to);
      } else tests.push((x) => x === c);
    }
    this.pos++;
    const inClass: CharTest = (x) => tests.some((t) => t(x));
    return negated ? not(inClass) : inClass;
  }
}
