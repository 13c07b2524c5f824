import { TagPolicyError } from "./types.js";
import { parseLooseVersion, Version } from "./version.js";

// Masterminds/semver v3.4 constraints (what Flux's OCIRepository `ref.semver` and ImagePolicy `semver.range`
// use): `||` separates alternatives, spaces or commas separate the comparators that must all hold, and
// `A - B` (spaces required) is `>= A, <= B`. A pre-release version only satisfies an alternative in which
// some comparator names a pre-release (`^1.x-0`, `>=1.2.3-rc.1 <2`).

export const MAX_RANGE_LENGTH = 256;

type Op = "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^";
const OPS = new Set<string>(["", "=", "!=", ">", "<", ">=", "=>", "<=", "=<", "~", "~>", "^"]);

interface Comparator {
  op: Op;
  con: Version;
  dirty: boolean;
  minorDirty: boolean;
  patchDirty: boolean;
}

// Go's \s is ASCII: [\t\n\f\r ].
const WS = "[\\t\\n\\f\\r ]";
const CV =
  "v?([0-9|x|X|*]+)(\\.[0-9|x|X|*]+)?(\\.[0-9|x|X|*]+)?(-([0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*))?(\\+([0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*))?";
const CV_EXACT = new RegExp(`^${CV}$`);
const RANGE = new RegExp(`${WS}*(${CV})${WS}+-${WS}+(${CV})${WS}*`, "g");
const IS_WS = /^[\t\n\f\r ]$/;
const OP_CHARS = /^[=!<>~^]$/;

/** A parsed constraint; `check` is Masterminds' `Constraints.Check`. */
export class SemverRange {
  private constructor(
    readonly text: string,
    private readonly alternatives: { comparators: Comparator[]; includePre: boolean }[],
  ) {}

  static parse(text: string): SemverRange {
    if (text.length > MAX_RANGE_LENGTH) {
      throw new TagPolicyError(`semver range is longer than ${MAX_RANGE_LENGTH} characters`);
    }
    const rewritten = text.replace(RANGE, (_m, from: string, ...groups: unknown[]) => {
      // The second version is group 11 of the match; groups[9] after `from` (group 1).
      return `>= ${from}, <= ${String(groups[9])} `;
    });
    const alternatives = rewritten.split("||").map((segment) => {
      const comparators = parseSegment(segment, text);
      return { comparators, includePre: comparators.some((c) => c.con.prerelease !== "") };
    });
    return new SemverRange(text, alternatives);
  }

  check(v: Version): boolean {
    return this.alternatives.some(
      ({ comparators, includePre }) =>
        (v.prerelease === "" || includePre) && comparators.every((c) => checkComparator(v, c)),
    );
  }
}

// Masterminds validates a segment with validConstraintRegex and splits it with findConstraintRegex; this
// scanner accepts the same language without a backtracking regex (a range is user input on the server):
// `op? ws* version` items separated by whitespace or a comma.
function parseSegment(segment: string, whole: string): Comparator[] {
  const bad = () =>
    new TagPolicyError(
      `invalid semver range ${JSON.stringify(whole)}: improper constraint "${segment.trim()}"`,
    );
  const items: Comparator[] = [];
  let i = 0;
  const skipWs = () => {
    const start = i;
    while (i < segment.length && IS_WS.test(segment[i]!)) i++;
    return i > start;
  };
  skipWs();
  for (;;) {
    let op = "";
    while (i < segment.length && OP_CHARS.test(segment[i]!)) op += segment[i++];
    if (!OPS.has(op)) throw bad();
    skipWs();
    let cv = "";
    while (i < segment.length && segment[i] !== "," && !IS_WS.test(segment[i]!)) cv += segment[i++];
    const comparator = parseComparator(op as Op, cv);
    if (!comparator) throw bad();
    items.push(comparator);
    const spaced = skipWs();
    if (i >= segment.length) return items;
    if (segment[i] === ",") {
      i++;
      skipWs();
    } else if (!spaced) throw bad();
  }
}

// Masterminds' parseConstraint: an `x`, `X` or `*` (or a missing part) makes the comparator "dirty" from
// that part on; its version becomes the lowest one the wildcard allows (keeping only a pre-release).
function parseComparator(op: Op, cv: string): Comparator | undefined {
  const m = CV_EXACT.exec(cv);
  if (!m) return undefined;
  const major = m[1]!;
  const minor = m[2] ?? "";
  const patch = m[3] ?? "";
  const pre = m[4] ?? "";
  const isX = (part: string) => part === "x" || part === "X" || part === "*";
  let ver = cv;
  let dirty = false;
  let minorDirty = false;
  let patchDirty = false;
  if (isX(major)) {
    ver = `0.0.0${pre}`;
    dirty = true;
  } else if (minor === "" || isX(minor.slice(1))) {
    ver = `${major}.0.0${pre}`;
    dirty = minorDirty = true;
  } else if (patch === "" || isX(patch.slice(1))) {
    ver = `${major}${minor}.0${pre}`;
    dirty = patchDirty = true;
  }
  const con = parseLooseVersion(ver);
  return con && { op, con, dirty, minorDirty, patchDirty };
}

function checkComparator(v: Version, c: Comparator): boolean {
  const { con } = c;
  switch (c.op) {
    case "":
    case "=":
      return c.dirty ? tilde(v, c) : v.compare(con) === 0;
    case "!=":
      return notEqual(v, c);
    case ">":
      return greaterThan(v, c);
    case "<":
      return v.compare(con) < 0;
    case ">=":
    case "=>":
      return v.compare(con) >= 0;
    case "<=":
    case "=<":
      return lessThanEqual(v, c);
    case "~":
    case "~>":
      return tilde(v, c);
    case "^":
      return caret(v, c);
  }
}

function notEqual(v: Version, c: Comparator): boolean {
  const { con } = c;
  if (c.dirty) {
    if (con.major !== v.major) return true;
    if (con.minor !== v.minor && !c.minorDirty) return true;
    if (c.minorDirty) return false;
    if (con.patch !== v.patch && !c.patchDirty) return true;
    if (c.patchDirty) {
      if (v.prerelease !== "" || con.prerelease !== "") {
        return (
          new Version(0n, 0n, 0n, v.prerelease, "", "").compare(
            new Version(0n, 0n, 0n, con.prerelease, "", ""),
          ) !== 0
        );
      }
      return false;
    }
  }
  return v.compare(con) !== 0;
}

function greaterThan(v: Version, c: Comparator): boolean {
  const { con } = c;
  if (!c.dirty) return v.compare(con) === 1;
  if (v.major > con.major) return true;
  if (v.major < con.major) return false;
  if (c.minorDirty) return false; // >11 needs 12 or higher
  if (c.patchDirty) return v.minor > con.minor; // >11.1 needs 11.2 or higher
  return v.compare(con) === 1;
}

function lessThanEqual(v: Version, c: Comparator): boolean {
  const { con } = c;
  if (!c.dirty) return v.compare(con) <= 0;
  if (v.major > con.major) return false;
  if (v.major === con.major && v.minor > con.minor && !c.minorDirty) return false;
  return true;
}

function tilde(v: Version, c: Comparator): boolean {
  const { con } = c;
  if (v.compare(con) < 0) return false;
  if (con.major === 0n && con.minor === 0n && con.patch === 0n && !c.minorDirty && !c.patchDirty) return true;
  if (v.major !== con.major) return false;
  if (v.minor !== con.minor && !c.minorDirty) return false;
  return true;
}

function caret(v: Version, c: Comparator): boolean {
  const { con } = c;
  if (v.compare(con) < 0) return false;
  if (con.major > 0n || c.minorDirty) return v.major === con.major;
  if (v.major > 0n) return false;
  if (con.minor > 0n || c.patchDirty) return v.minor === con.minor;
  if (v.minor > 0n) return false;
  return con.patch === v.patch;
}
