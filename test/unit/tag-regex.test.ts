import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileTagRegex, TagRegexError, type RegexStats } from "../../src/registry/immutable/tag-regex.js";

/** Tags are at most 128 characters (the OCI tag grammar). */
const LONGEST_TAG = 128;

describe("immutable-tag regexes: RE2-style patterns, whole-tag match, linear time", () => {
  it("matches the whole tag, as JavaScript's RegExp does for the same pattern anchored", () => {
    const patterns = [
      "v\\d+\\.\\d+\\.\\d+",
      "release-.*",
      "(?P<ts>\\d{8})-[0-9a-f]{7}",
      "(?<ts>\\d{8})-(?:main|dev)",
      "^nightly-[a-z]+$",
      "[^.]+\\.sig",
      "a{2,3}b?",
      "x{2,}",
      "(ab|cd)*",
      "[\\w.-]+",
      "\\D\\S\\W?",
      "v1|v2",
      "{x",
    ];
    const tags = [
      "v1.2.3",
      "v1.2",
      "release-1",
      "release",
      "20260101-abc1234",
      "20260101-main",
      "nightly-x",
      "nightly-1",
      "sha256-x.sig",
      "a.b.sig",
      "aa",
      "aab",
      "aaaab",
      "xx",
      "x",
      "",
      "abcd",
      "abce",
      "a_b.c-d",
      "x y",
      "v1",
      "v12",
      "{x",
      "ab",
    ];
    for (const pattern of patterns) {
      const ours = compileTagRegex(pattern);
      const js = new RegExp(
        `^(?:${pattern
          .replace(/^\^/, "")
          .replace(/\$$/, "")
          .replace(/\(\?P</g, "(?<")})$`,
      );
      for (const tag of tags) assert.equal(ours(tag), js.test(tag), `${pattern} on ${JSON.stringify(tag)}`);
    }
  });

  it("costs at most (states × tag length) steps on patterns that make backtracking engines explode", () => {
    const hostile = ["(a|a)*b", "(a+)+b", "(a*)*b", "(.*a){12}b", "(a|aa)+b$", "(\\w+\\d*)+-", ".*.*.*.*.*.*x"];
    const tag = "a".repeat(LONGEST_TAG);
    for (const pattern of hostile) {
      const stats: RegexStats = { steps: 0, states: 0 };
      const matcher = compileTagRegex(pattern, stats);
      assert.equal(matcher(tag), false, pattern);
      // Each position visits each state at most twice (consuming, then in the closure).
      assert.ok(stats.steps <= 2 * stats.states * (LONGEST_TAG + 1), `${pattern}: ${stats.steps} steps`);
    }
  });

  it("refuses what it cannot run in linear time, or too large an automaton, with the position", () => {
    const refused: [string, RegExp][] = [
      ["(a)\\1", /backreferences/],
      ["(?=a)a", /lookarounds/],
      ["(?!a)b", /lookarounds/],
      ["(?i)a", /flags/],
      ["\\bword", /word boundaries/],
      ["a**", /quantifier cannot follow/],
      ["*a", /nothing to repeat/],
      ["a^b", /'\^' is only allowed at the start/],
      ["a$b", /'\$' is only allowed at the end/],
      ["(a", /unbalanced '\('/],
      ["a)", /unbalanced '\)'/],
      ["[a", /unbalanced '\['/],
      ["[z-a]", /invalid range/],
      ["[[:alpha:]]", /POSIX/],
      ["a{5,2}", /invalid repetition/],
      ["a{1,200}", /invalid repetition/],
      ["(a{100}){100}", /too complex/],
      ["a".repeat(257), /longer than 256/],
      ["", /empty/],
    ];
    for (const [pattern, message] of refused) {
      assert.throws(
        () => compileTagRegex(pattern),
        (err: unknown) => {
          assert.ok(err instanceof TagRegexError, pattern);
          assert.match(err.message, message, pattern);
          return true;
        },
      );
    }
  });
});
