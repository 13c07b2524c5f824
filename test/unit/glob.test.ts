import { describe, it } from "node:test";
import assert from "node:assert/strict";
import picomatch from "picomatch";
import { compileGlob, GlobSyntaxError, type MatchStats } from "../../src/auth/glob.js";

const NAMES = [
  "team-a",
  "team-a/app",
  "team-a/app/sub",
  "team-ab",
  "team-b/app",
  "public/x-y-z",
  "public/x-y",
  "public/a/x-y-z",
  "library/ubuntu",
  "app",
  "a/b",
  "a/x/b",
  "a/x/y/b",
  "b",
  "x/b",
  "team-1/app",
  "team-z/app",
];

const PATTERNS = [
  "team-a/**",
  "team-a/*",
  "team-a*",
  "public/*-*-*",
  "**",
  "*",
  "**/b",
  "a/**/b",
  "a/*/b",
  "team-?/app",
  "team-[a-c]/app",
  "team-[0-9]/app",
  "{team-a,team-b}/app",
  "team-{a,b{,x}}/**",
  "!team-a/**",
  "library/ubuntu",
];

describe("repository globs", () => {
  it("match as picomatch (dot: true) did, for the patterns rules use", () => {
    for (const pattern of PATTERNS) {
      const ours = compileGlob(pattern);
      const theirs = picomatch(pattern, { dot: true });
      for (const name of NAMES) {
        assert.equal(ours(name), theirs(name), `${pattern} against ${name}`);
      }
    }
  });

  it("`team-a/**` matches team-a and everything below it; `*` does not cross /", () => {
    const below = compileGlob("team-a/**");
    assert.ok(below("team-a"));
    assert.ok(below("team-a/app"));
    assert.ok(below("team-a/app/sub/deeper"));
    assert.ok(!below("team-ab"));
    assert.ok(!below("team-b/app"));
    const star = compileGlob("team-a/*");
    assert.ok(star("team-a/app"));
    assert.ok(!star("team-a/app/sub"));
    assert.ok(!star("team-a"));
  });

  it("`[!a]` and `[^a]` are negated classes (picomatch read `[!a]` as the set of ! and a)", () => {
    for (const pattern of ["team-[!a]/app", "team-[^a]/app"]) {
      const matcher = compileGlob(pattern);
      assert.ok(!matcher("team-a/app"), pattern);
      assert.ok(matcher("team-b/app"), pattern);
      assert.ok(!matcher("team-//app"), `${pattern}: a class never matches /`);
    }
  });

  it("refuses unbalanced brackets and braces, and brace bombs", () => {
    for (const bad of ["team-{a,b", "team-a}", "team-[ab", "team-]", "{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}"]) {
      assert.throws(() => compileGlob(bad), GlobSyntaxError, bad);
    }
  });

  it("does work linear in the name: a 6,000-character name against public/*-*-*", () => {
    const stats: MatchStats = { steps: 0 };
    const matcher = compileGlob("public/*-*-*", stats);
    const hostile = `public/${"a-".repeat(3000)}/`;
    assert.equal(matcher(hostile), false);
    // At most one step per pattern token per character: 12 tokens × 6,008 characters.
    assert.ok(stats.steps <= 12 * hostile.length, `${stats.steps} steps`);
    const doubled = { steps: 0 };
    compileGlob("public/*-*-*", doubled)(`public/${"a-".repeat(6000)}/`);
    assert.ok(
      doubled.steps <= 2.1 * stats.steps,
      `doubling the name: ${stats.steps} → ${doubled.steps} steps`,
    );
  });
});
