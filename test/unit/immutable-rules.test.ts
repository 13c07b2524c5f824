import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  compileRule,
  ImmutableRuleError,
  validateRule,
  type ImmutableRule,
  type NewImmutableRule,
} from "../../src/registry/immutable/rules.js";

function rule(input: NewImmutableRule): ReturnType<typeof compileRule> {
  const checked = validateRule(input);
  const full: ImmutableRule = { ...checked, createdBy: "test", createdAt: "2026-01-01T00:00:00.000Z" };
  return compileRule(full);
}

describe("immutable-tag rules: what they match", () => {
  it("semver: tags that parse as versions, in repositories matching the glob", () => {
    const r = rule({ name: "semver", repositories: "team/**", tags: "semver" });
    assert.equal(validateRule({ name: "s", repositories: "**", tags: "semver" }).kind, "semver");
    assert.ok(r.matches("team/app", "v1.2.0"));
    assert.ok(r.matches("team", "1.2.3-rc.1"));
    for (const tag of ["latest", "main", "1.2", "v1"]) assert.ok(!r.matches("team/app", tag), tag);
    assert.ok(!r.matches("other/app", "v1.2.0"));
  });

  it("glob (the default kind) and regex match the whole tag; Go's named groups are accepted", () => {
    const glob = rule({ name: "g", repositories: "**", tags: "release-*" });
    assert.ok(glob.matches("a", "release-1"));
    assert.ok(!glob.matches("a", "prerelease-1") && !glob.matches("a", "release"));
    const regex = rule({ name: "r", repositories: "**", tags: "(?P<ts>\\d{8})-[0-9a-f]{7}", kind: "regex" });
    assert.ok(regex.matches("a", "20260101-abc1234"));
    assert.ok(!regex.matches("a", "x20260101-abc1234") && !regex.matches("a", "20260101-abc1234x"));
  });

  it("a regex that would make a backtracking engine run for ever answers on the longest tag", () => {
    // (a|a)*b on 128 a's is 2^128 paths for JavaScript's RegExp; RE2 is linear in the tag.
    const tag = "a".repeat(128);
    for (const tags of ["(a|a)*b", "(a+)+b", "(a*)*b", "(.*a){12}b", "(\\w+\\d*)+-"]) {
      assert.equal(
        rule({ name: "h", repositories: "**", tags, kind: "regex" }).matches("r", tag),
        false,
        tags,
      );
    }
  });

  it("refuses bad rules with messages naming what is wrong", () => {
    const cases: [NewImmutableRule, RegExp][] = [
      [{ name: "-x", repositories: "**", tags: "v*" }, /invalid rule name/],
      [{ name: "x".repeat(65), repositories: "**", tags: "v*" }, /invalid rule name/],
      [{ name: "x", repositories: "Team/**", tags: "v*" }, /invalid repository pattern/],
      [{ name: "x", repositories: "**", tags: "[v" }, /invalid tag glob "\[v": unbalanced '\['/],
      [{ name: "x", repositories: "**", tags: "a b" }, /invalid tag glob/],
      [{ name: "x", repositories: "**", tags: "v*", kind: "semver" }, /takes the tag pattern "semver"/],
      [{ name: "x", repositories: "**", tags: "v*", kind: "exact" }, /invalid kind "exact"/],
      [{ name: "x", repositories: "**", tags: "(a)\\1", kind: "regex" }, /invalid escape sequence/],
      [{ name: "x", repositories: "**", tags: "a".repeat(257), kind: "regex" }, /longer than 256/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => validateRule(input),
        (err: unknown) =>
          err instanceof ImmutableRuleError && err.kind === "invalid" && message.test(err.message),
        JSON.stringify(input).slice(0, 80),
      );
    }
  });
});
