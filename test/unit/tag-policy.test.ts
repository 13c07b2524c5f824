import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  compileTagPattern,
  compileTagPolicy,
  describePolicy,
  GoRegexp,
  isReferrerTag,
  isVersionTag,
  parsePolicyQuery,
  parseVersionTag,
  policyToQuery,
  selectTag,
  SemverRange,
  TagPolicyError,
  type TagPolicy,
} from "../../src/oci/tag-policy/index.js";
import { parseGoFloat } from "../../src/oci/tag-policy/go-float.js";
import { parseLooseVersion } from "../../src/oci/tag-policy/version.js";
import { FLUX_CASES } from "../helpers/flux-cases.js";

const OCI_TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

describe("FLUX_CASES", () => {
  for (const c of FLUX_CASES) {
    it(c.name, () => {
      for (const tag of c.tags) assert.match(tag, OCI_TAG, `${tag} is not a valid OCI tag`);
      const run = () => selectTag(c.tags, c.policy);
      if (typeof c.expected === "string") {
        assert.equal(run()?.tag, c.expected);
        // The answer does not depend on the order the registry lists tags in.
        assert.equal(selectTag([...c.tags].reverse(), c.policy)?.tag, c.expected);
      } else if ("none" in c.expected) {
        assert.equal(run(), undefined);
      } else {
        assert.throws(
          run,
          (err: unknown) =>
            err instanceof TagPolicyError && (c.expected as { error: RegExp }).error.test(err.message),
        );
      }
    });
  }
});

// Masterminds/semver constraints_test.go TestConstraintsCheck and TestConstraintCheck (ported); the
// versions are parsed with NewVersion, as those tests do.
const CONSTRAINT_TABLE: [string, string, boolean][] = [
  ["=2.0.0", "1.2.3", false],
  ["=2.0.0", "2.0.0", true],
  ["=2.0", "1.2.3", false],
  ["=2.0", "2.0.0", true],
  ["=2.0", "2.0.1", true],
  ["4.1", "4.1.0", true],
  ["!=4.1.0", "4.1.0", false],
  ["!=4.1.0", "4.1.1", true],
  ["!=4.1", "4.1.0", false],
  ["!=4.1", "4.1.1", false],
  ["!=4.1", "5.1.0-alpha.1", false],
  ["!=4.1-alpha", "4.1.0", true],
  ["!=4.1", "5.1.0", true],
  ["<11", "0.1.0", true],
  ["<11", "11.1.0", false],
  ["<1.1", "0.1.0", true],
  ["<1.1", "1.1.0", false],
  ["<1.1", "1.1.1", false],
  ["<=11", "1.2.3", true],
  ["<=11", "12.2.3", false],
  ["<=11", "11.2.3", true],
  ["<=1.1", "1.2.3", false],
  ["<=1.1", "0.1.0", true],
  ["<=1.1", "1.1.0", true],
  ["<=1.1", "1.1.1", true],
  [">1.1", "4.1.0", true],
  [">1.1", "1.1.0", false],
  [">0", "0", false],
  [">0", "1", true],
  [">0", "0.0.1-alpha", false],
  [">0.0", "0.0.1-alpha", false],
  [">0-0", "0.0.1-alpha", false],
  [">0.0-0", "0.0.1-alpha", false],
  [">0", "0.0.0-alpha", false],
  [">0-0", "0.0.0-alpha", false],
  [">0.0.0-0", "0.0.0-alpha", true],
  [">1.2.3-alpha.1", "1.2.3-alpha.2", true],
  [">1.2.3-alpha.1", "1.3.3-alpha.2", true],
  [">11", "11.1.0", false],
  [">11.1", "11.1.0", false],
  [">11.1", "11.1.1", false],
  [">11.1", "11.2.1", true],
  [">=11", "11.1.2", true],
  [">=11.1", "11.1.2", true],
  [">=11.1", "11.0.2", false],
  [">=1.1", "4.1.0", true],
  [">=1.1", "1.1.0", true],
  [">=1.1", "0.0.9", false],
  [">=0", "0.0.1-alpha", false],
  [">=0.0", "0.0.1-alpha", false],
  [">=0-0", "0.0.1-alpha", true],
  [">=0.0-0", "0.0.1-alpha", true],
  [">=0", "0.0.0-alpha", false],
  [">=0-0", "0.0.0-alpha", true],
  [">=0.0.0-0", "0.0.0-alpha", true],
  [">=0.0.0-0", "1.2.3", true],
  [">=0.0.0-0", "3.4.5-beta.1", true],
  ["<0", "0.0.0-alpha", false],
  ["<0-z", "0.0.0-alpha", true],
  [">=0", "0", true],
  ["=0", "1", false],
  ["*", "1", true],
  ["*", "4.5.6", true],
  ["*", "1.2.3-alpha.1", false],
  ["*-0", "1.2.3-alpha.1", true],
  ["2.*", "1", false],
  ["2.*", "3.4.5", false],
  ["2.*", "2.1.1", true],
  ["2.1.*", "2.1.1", true],
  ["2.1.*", "2.2.1", false],
  ["2", "1", false],
  ["2", "3.4.5", false],
  ["2", "2.1.1", true],
  ["2.1", "2.1.1", true],
  ["2.1", "2.2.1", false],
  ["~1.2.3", "1.2.4", true],
  ["~1.2.3", "1.3.4", false],
  ["~1.2", "1.2.4", true],
  ["~1.2", "1.3.4", false],
  ["~1", "1.2.4", true],
  ["~1", "2.3.4", false],
  ["~0.2.3", "0.2.5", true],
  ["~0.2.3", "0.3.5", false],
  ["~1.2.3-beta.2", "1.2.3-beta.4", true],
  ["~1.2.3-beta.2", "1.2.4-beta.2", true],
  ["~1.2.3-beta.2", "1.3.4-beta.2", false],
  ["^1.2.3", "1.8.9", true],
  ["^1.2.3", "2.8.9", false],
  ["^1.2.3", "1.2.1", false],
  ["^1.1.0", "2.1.0", false],
  ["^1.2.0", "2.2.1", false],
  ["^1.2.0", "1.2.1-alpha.1", false],
  ["^1.2.0-alpha.0", "1.2.1-alpha.1", true],
  ["^1.2.0-alpha.0", "1.2.1-alpha.0", true],
  ["^1.2.0-alpha.2", "1.2.0-alpha.1", false],
  ["^1.2", "1.8.9", true],
  ["^1.2", "2.8.9", false],
  ["^1", "1.8.9", true],
  ["^1", "2.8.9", false],
  ["^0.2.3", "0.2.5", true],
  ["^0.2.3", "0.5.6", false],
  ["^0.2", "0.2.5", true],
  ["^0.2", "0.5.6", false],
  ["^0.0.3", "0.0.3", true],
  ["^0.0.3", "0.0.4", false],
  ["^0.0", "0.0.3", true],
  ["^0.0", "0.1.4", false],
  ["^0.0", "1.0.4", false],
  ["^0", "0.2.3", true],
  ["^0", "1.1.4", false],
  ["^0.2.3-beta.2", "0.2.3-beta.4", true],
  ["^0.2.3-beta.2", "0.2.4-beta.2", true],
  ["^0.2.3-beta.2", "0.3.4-beta.2", false],
  ["^0.2.3-beta.2", "0.2.3-beta.2", true],
  ["~0.0.0", "1.2.3", true],
  ["0.x.x", "1.2.3", false],
  ["0.0.x", "1.2.3", false],
  ["0.0.0", "1.2.3", false],
  ["^0.0.0", "1.2.3", false],
  ["= 2.0", "1.2.3", false],
  ["= 2.0", "2.0.0", true],
  ["4.1.x", "4.1.3", true],
  ["1.x", "1.4", true],
  ["!=4.1-alpha", "4.1.0-alpha", false],
  ["!=4.1-alpha", "4.1.1-alpha", false],
  ["!=4.x", "5.1.0", true],
  ["!=4.x", "4.1.0", false],
  ["!=4.1.x", "4.2.0", true],
  ["!=4.2.x", "4.2.3", false],
  ["<1.x", "1.1.1", false],
  ["<1.x", "0.1.1", true],
  ["<1.x", "2.0.0", false],
  ["<1.1.x", "1.2.1", false],
  ["<1.1.x", "1.1.500", false],
  ["<1.1.x", "1.0.500", true],
  ["<1.2.x", "1.1.1", true],
  [">=1.1", "4.1.0-beta", false],
  ["<=1.1", "0.1.0-alpha", false],
  ["<=1.1-a", "0.1.0-alpha", true],
  ["<=1.x", "1.1.0", true],
  ["<=2.x", "3.0.0", false],
  ["<=1.1.x", "1.2.500", false],
  ["<=4.5", "3.4.0", true],
  ["<=4.5", "3.7.0", true],
  ["<=4.5", "4.6.3", false],
  [">1.1, <2", "1.1.1", false],
  [">1.1, <2", "1.2.1", true],
  [">1.1, <3", "4.3.2", false],
  [">=1.1, <2, !=1.2.3", "1.2.3", false],
  [">1.1 <2", "1.1.1", false],
  [">1.1 <2", "1.2.1", true],
  [">1.1    <3", "4.3.2", false],
  [">=1.1    <2    !=1.2.3", "1.2.3", false],
  [">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true],
  [">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false],
  [">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true],
  [">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false],
  [">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false],
  [">= 1.1 <2 != 1.2.3 || > 3", "4.1.2", true],
  ["> 1.1, <     2", "1.1.1", false],
  [">   1.1, <2", "1.2.1", true],
  ["1.1 - 2", "1.1.1", true],
  ["1.5.0 - 4.5", "3.7.0", true],
  ["1.1-3", "4.3.2", false],
  ["^1.1", "1.1.1", true],
  ["^1.1", "4.3.2", false],
  ["^1.x", "1.1.1", true],
  ["^2.x", "1.1.1", false],
  ["^1.x", "2.1.1", false],
  ["^1.x", "1.1.1-beta1", false],
  ["^1.1.2-alpha", "1.2.1-beta1", true],
  ["^1.2.x-alpha", "1.1.1-beta1", false],
  ["^0.0.1", "0.0.1", true],
  ["^0.0.1", "0.3.1", false],
  ["~*", "2.1.1", true],
  ["~1", "2.1.1", false],
  ["~1", "1.3.5", true],
  ["~1", "1.4", true],
  ["~1.x", "2.1.1", false],
  ["~1.x", "1.3.5", true],
  ["~1.1", "1.1.1-alpha", false],
  ["~1.1-alpha", "1.1.1-beta", true],
  ["~1.1.1-beta", "1.1.1-alpha", false],
  ["~1.1.1-beta", "1.1.1", true],
  ["~1.2.3", "1.2.5", true],
  ["~1.2.3", "1.2.2", false],
  ["~1.3", "2.4.5", false],
  ["1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true],
  ["1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true],
  // v3.4: a pre-release in any comparator of an and-group admits pre-releases for the whole group.
  [">=1.2.3-0 <2", "1.5.0-rc.1", true],
  [">=1.2.3 <2-0", "1.5.0-rc.1", true],
  [">=1.2.3 <2 || >=3.0.0-0", "1.5.0-rc.1", false],
  ["^1.x-0", "1.3.0-rc.2", true],
  ["^1.x-0", "2.0.0-rc.1", false],
  ["v1.2.3", "1.2.3", true],
  ["=>1.2", "1.2.0", true],
  ["=<1.2", "1.2.9", true],
  ["~>1.2", "1.2.9", true],
  ["~>1.2", "1.3.0", false],
];

describe("semver ranges (Masterminds/semver v3.4)", () => {
  for (const [range, version, expected] of CONSTRAINT_TABLE) {
    it(`${JSON.stringify(range)} ${expected ? "admits" : "refuses"} ${version}`, () => {
      const v = parseLooseVersion(version);
      assert.ok(v, `test version ${version}`);
      assert.equal(SemverRange.parse(range).check(v), expected);
    });
  }

  // Masterminds TestNewConstraint and image-reflector TestNewSemVer
  const VALID = [
    ">= 1.1",
    ">40.50.60, < 50.70",
    "2.0",
    "v2.3.5-20161202202307-sha.e8fc5e5",
    ">= 1.2.3 < 2.0",
    ">= 1.2.3 < 2.0 || => 3.0 < 4",
    ">= 1.2.3, < 2.0 || => 3.0, < 4",
    "3 - 4 || => 3.0, < 4",
    "12.3.34 ~1.2.3",
    "1.0.0 - 2.0.0, <=2.0.0",
    "1.0.x",
    "^1.0",
    "=1.0.0",
    "~1.0",
    ">=1.0",
    ">0,<2.0",
    "*",
    "x",
    "1.X",
  ];
  const INVALID = [
    ">= bar",
    "BAR >= 1.2.3",
    "12.3.4.1234",
    "12.23.4.1234",
    "12.3.34.1234",
    "12.3.34~ 1.2.3",
    "1.0.0p",
    "1x",
    "x1",
    "-1",
    "a",
    "",
    " ",
    "1.2 ||",
    ">>1",
    "1.2,,1.3",
    "1|2",
    "1.2.3-01",
    "99999999999999999999.0.0",
  ];
  for (const range of VALID) {
    it(`accepts ${JSON.stringify(range)}`, () => {
      assert.ok(SemverRange.parse(range) instanceof SemverRange);
    });
  }
  for (const range of INVALID) {
    it(`refuses ${JSON.stringify(range)}`, () =>
      assert.throws(() => SemverRange.parse(range), TagPolicyError));
  }

  it("refuses an over-long range before parsing it", () => {
    assert.throws(() => SemverRange.parse("1 ".repeat(200)), /longer than 256/);
  });

  it("parses a range with many whitespace runs without backtracking blow-up (a failure at the end)", () => {
    // Masterminds' validConstraintRegex would backtrack exponentially here in a JS engine.
    assert.throws(() => SemverRange.parse(`${">=1   ".repeat(40)}!`), TagPolicyError);
  });
});

describe("version tags (fluxcd/pkg ParseVersion, Helm)", () => {
  const TABLE: [string, string | undefined][] = [
    // fluxcd/pkg version/version_test.go TestParseVersion
    ["v1.2.3", "1.2.3"],
    ["v1.0", undefined],
    ["v1", undefined],
    ["v1.2.beta", undefined],
    ["v1.2-5", undefined],
    ["v1.2-beta.5", undefined],
    ["\nv1.2", undefined],
    ["v1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"],
    ["v1.2.0-x.Y.0+metadata-width-hypen", "1.2.0-x.Y.0+metadata-width-hypen"],
    ["v1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"],
    ["v1.2.3.4", undefined],
    // StrictNewVersion: no leading zeros, non-empty identifiers, uint64 parts, one lower-case v.
    ["01.2.3", undefined],
    ["1.02.3", undefined],
    ["1.2.3-01", undefined],
    ["1.2.3-0a", "1.2.3-0a"],
    ["1.2.3+01", "1.2.3+01"],
    ["1.2.3-", undefined],
    ["1.2.3-rc..1", undefined],
    ["1.2.3+", undefined],
    ["V1.2.3", undefined],
    ["vv1.2.3", undefined],
    ["18446744073709551615.0.0", "18446744073709551615.0.0"],
    ["18446744073709551616.0.0", undefined],
    ["1.2.3_meta", undefined],
    ["latest", undefined],
  ];
  for (const [tag, expected] of TABLE) {
    it(`${JSON.stringify(tag)} → ${expected ?? "not a version"}`, () => {
      assert.equal(parseVersionTag(tag)?.version.toString(), expected);
    });
  }

  it("Helm: _ is +, no v prefix, the tag is kept", () => {
    const parsed = parseVersionTag("1.2.3-rc.1_build.5", { helm: true });
    assert.equal(parsed?.version.toString(), "1.2.3-rc.1+build.5");
    assert.equal(parsed?.tag, "1.2.3-rc.1_build.5");
    assert.equal(parseVersionTag("v1.2.3", { helm: true }), undefined);
    assert.equal(parseVersionTag("1.2.3_a_b", { helm: true }), undefined); // 1.2.3+a+b
  });

  it("isVersionTag (the immutability keyword) also reads Helm chart tags", () => {
    for (const tag of ["1.2.3", "v1.2.3", "1.2.3-rc.1", "1.2.3_build.1", "0.0.0"])
      assert.equal(isVersionTag(tag), true, tag);
    for (const tag of ["latest", "1.2", "v1", "main-123", "1.2.3.4", "sha256-abc", "release-1.2.3"]) {
      assert.equal(isVersionTag(tag), false, tag);
    }
  });

  it("orders versions as Masterminds does (semver 2.0 precedence, metadata ignored)", () => {
    const order = [
      "1.0.0-alpha",
      "1.0.0-alpha.1",
      "1.0.0-alpha.beta",
      "1.0.0-beta",
      "1.0.0-beta.2",
      "1.0.0-beta.11",
      "1.0.0-rc.1",
      "1.0.0",
      "1.0.1",
      "1.1.0",
      "2.0.0",
    ];
    for (let i = 1; i < order.length; i++) {
      const a = parseVersionTag(order[i - 1]!)!.version;
      const b = parseVersionTag(order[i]!)!.version;
      assert.equal(a.compare(b), -1, `${order[i - 1]} < ${order[i]}`);
      assert.equal(b.compare(a), 1);
    }
    assert.equal(parseVersionTag("1.0.0+a")!.version.compare(parseVersionTag("1.0.0+b")!.version), 0);
  });
});

describe("Go regular expressions", () => {
  // [pattern, input, whole match or undefined for no match, groups]
  const MATCHES: [string, string, string | undefined, (string | undefined)[]?][] = [
    ["ver(\\d+)", "xver12y", "ver12", ["12"]],
    ["^main-[a-f0-9]+-(?P<ts>[0-9]+)$", "main-abc-100", "main-abc-100", ["100"]],
    ["(?<n>a+)", "baaa", "aaa", ["aaa"]],
    ["(?i)abc", "xAbC", "AbC"],
    ["(?i:a)b", "Ab", "Ab"],
    ["(?i:a)b", "AB", undefined],
    ["a(?i)b", "aB", "aB"],
    ["(?i)a(?-i)b", "AB", undefined],
    ["(?s).+", "a\nb", "a\nb"],
    [".+", "a\nb", "a"],
    ["(?m)^b$", "a\nb\nc", "b"],
    ["^b$", "a\nb\nc", undefined],
    ["(?U)a+", "aaa", "a"],
    ["(?U)a+?", "aaa", "aaa"],
    ["a+?", "aaa", "a"],
    ["\\Aab\\z", "ab", "ab"],
    ["\\Q1.2+\\E", "x1.2+y", "1.2+"],
    ["[[:alpha:]]+", "12abC3", "abC"],
    ["[[:^digit:]]+", "12ab3", "ab"],
    ["[\\d.]+", "v1.2.3-rc", "1.2.3"],
    ["[^\\d]+", "12ab3", "ab"],
    ["\\s", "a\u00a0b c", " "], // Go's \s is ASCII: no NBSP
    ["\\w+", "é_ab1", "_ab1"], // Go's \w is ASCII
    ["\\pL+", "1éa2", "éa"],
    ["\\p{Greek}", "aβ", "β"],
    ["[]a]+", "x]a]", "]a]"],
    ["[a-]+", "x-a-", "-a-"],
    ["a{2}", "aaa", "aa"],
    ["a{2,}", "aaaa", "aaaa"],
    ["a{,2}", "a{,2}", "a{,2}"], // not a repeat in RE2: literal
    ["x{", "x{", "x{"],
    ["a]", "a]", "a]"],
    ["\\x41\\x{42}\\101", "ABA", "ABA"],
    ["\\.", "a.b", "."],
    ["\\-", "a-b", "-"],
    ["a|ab", "ab", "a"], // leftmost-first, like Perl and RE2
    ["(a|ab)(c|bcd)", "abcd", "abcd", ["a", "bcd"]],
    ["(?:^)*a", "a", "a"],
    ["(x)?y", "y", "y", [undefined]],
    ["\\bv\\d", "av1 v2", "v2"],
    [".", "\u{1F600}x", "\u{1F600}"], // a code point, not a UTF-16 unit
    ["(?i)K", "\u212A", "\u212A"], // Go folds the Kelvin sign with k
  ];
  for (const [pattern, input, whole, groups] of MATCHES) {
    it(`${pattern} on ${JSON.stringify(input)}`, () => {
      const m = GoRegexp.compile(pattern).exec(input);
      assert.equal(m?.[0], whole);
      if (groups) assert.deepEqual(m?.slice(1), groups);
    });
  }

  const INVALID = [
    "(?<=v)1",
    "(?<!v)1",
    "(?=a)",
    "(?!a)",
    "(a)\\1",
    "\\k<n>",
    "(?P=n)",
    "(?>a)",
    "a**",
    "a*+",
    "a++",
    "a{2}{3}",
    "a{1001}",
    "a{2,1}",
    "(",
    ")",
    "[a",
    "[z-a]",
    "*a",
    "+",
    "?",
    "{2}",
    "\\",
    "\\8",
    "(?P<n>a)(?P<n>b)",
    "(?P<>a)",
    "(?P<a-b>x)",
    "(?#comment)",
    "(?-)",
    "(?i-)",
    "(?x)a",
    "\\Z",
    "\\C",
    "\\e",
    "[[:foo:]]",
    "\\p{Nope}",
    "(?P<\u00e9>x)", // Go's group names are ASCII letters, digits and _
    "\\u0041",
    "[\\b]",
    "\\pL{1000}".repeat(21), // expression too large
  ];
  for (const pattern of INVALID) {
    it(`refuses ${JSON.stringify(pattern)}`, () => {
      assert.throws(() => GoRegexp.compile(pattern), TagPolicyError);
    });
  }

  it("accepts what RE2 accepts that JS spells differently", () => {
    for (const pattern of [
      "(?)a",
      "(?:)",
      "()",
      "a|",
      "(?i)(?-i:a)",
      "[^]]",
      "\\12",
      "\\0",
      "(?P<1x>a)",
      "\\a\\f\\v",
    ]) {
      GoRegexp.compile(pattern);
    }
  });

  it("matches in linear time: patterns that make a backtracking engine explode return at once", () => {
    // A JS RegExp takes about 2^n steps on these; Go's RE2 (and this matcher) take about n × pattern.
    const tag = `${"a".repeat(127)}!`;
    assert.equal(GoRegexp.compile("(a+)+$").exec(tag), undefined);
    assert.equal(GoRegexp.compile("^(a|a)*$").test(tag), false);
    assert.equal(GoRegexp.compile("(x+x+)+y").test("x".repeat(128)), false);
    assert.equal(GoRegexp.compile("(?:a*)*b").exec(`${"a".repeat(128)}b`)?.[0], `${"a".repeat(128)}b`);
  });

  it("agrees with JavaScript's RegExp on the syntax both share (leftmost-first submatches)", () => {
    const patterns = [
      "(a|ab)(c|bcd)(d*)",
      "(a+)(b+)?",
      "x*?(y|yy)",
      "([a-c]+)-([0-9]{1,3})",
      "(a|b)*?c",
      "^(v)?(\\d+)\\.(\\d+)$",
      "(a*)(a*)",
      "(?:ab|a)(bc|c)?",
      "[^a-c]+",
      "a{2,3}?b?",
    ];
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = "abcdxy0123.-v";
    for (const pattern of patterns) {
      const go = GoRegexp.compile(pattern);
      const js = new RegExp(pattern, "u");
      for (let k = 0; k < 300; k++) {
        const text = Array.from(
          { length: Math.floor(random() * 10) },
          () => alphabet[Math.floor(random() * alphabet.length)],
        ).join("");
        const expected = js.exec(text);
        assert.deepEqual(
          go.exec(text),
          expected ? Array.from(expected) : undefined,
          `${pattern} on ${JSON.stringify(text)}`,
        );
      }
    }
  });

  it("refuses an over-long pattern", () => {
    assert.throws(() => GoRegexp.compile("a".repeat(513)), /longer than 512/);
  });

  it("bounds the work of one match: a pattern whose program is too large is refused, naming it", () => {
    GoRegexp.compile("\\pL{1000}".repeat(19)); // about 19,000 instructions: accepted
    assert.throws(
      () => GoRegexp.compile("\\pL{1000}".repeat(21), "filter regex"),
      /^TagPolicyError: invalid filter regex ".*": expression too large$/,
    );
    assert.throws(
      () => GoRegexp.compile("(?<=v)1", "filter regex"),
      /^TagPolicyError: invalid filter regex "\(\?<=v\)1": invalid named capture/,
    );
  });

  it("expands templates with Go's Regexp.Expand rules", () => {
    const re = GoRegexp.compile("(?P<major>\\d+)\\.(?P<minor>\\d+)(?P<rest>-x)?(?P<1x>y)?");
    const m = re.exec("v10.20z")!;
    const cases: [string, string][] = [
      ["$major", "10"],
      ["${major}.$minor", "10.20"],
      ["$1-$2", "10-20"],
      ["$1x", ""], // the group named 1x, which did not match
      ["${1}x", "10x"],
      ["$rest", ""], // unmatched group
      ["$nope", ""], // unknown group
      ["$0", "10.20"],
      ["$01", ""], // leading zero: a name, not a number
      ["$$major", "$major"],
      ["a$", "a$"], // malformed: the $ stays
      ["${major", "${major"],
      ["$9", ""],
      ["plain", "plain"],
    ];
    for (const [template, expected] of cases) assert.equal(re.expand(template, m), expected, template);
  });
});

describe("compileTagPattern", () => {
  it("matches like Go's MatchString (unanchored), or the whole tag with fullMatch", () => {
    const semverish = compileTagPattern("v?\\d+\\.\\d+\\.\\d+");
    assert.equal(semverish.test("release-v1.2.3-rc"), true);
    assert.equal(semverish.test("v1.2"), false);
    const whole = compileTagPattern("v?\\d+\\.\\d+\\.\\d+", { fullMatch: true });
    assert.equal(whole.test("v1.2.3"), true);
    assert.equal(whole.test("release-v1.2.3-rc"), false);
    // The whole tag, not the leftmost-first alternative: `a|ab` must match all of "ab".
    assert.equal(compileTagPattern("a|ab", { fullMatch: true }).test("ab"), true);
    assert.equal(compileTagPattern("(?i)^LATEST$").test("latest"), true);
    assert.equal(compileTagPattern("^(?P<major>\\d+)\\.x$").test("1.x"), true);
  });

  it("refuses an empty, over-long or invalid pattern with a TagPolicyError naming it", () => {
    assert.throws(() => compileTagPattern(""), /^TagPolicyError: the tag pattern is empty$/);
    assert.throws(() => compileTagPattern("a".repeat(513)), /tag pattern is longer than 512 characters/);
    assert.throws(
      () => compileTagPattern("(?!latest)"),
      /^TagPolicyError: invalid tag pattern "\(\?!latest\)"/,
    );
    assert.throws(() => compileTagPattern("(a)\\1", { what: "rule tags" }), /invalid rule tags/);
    assert.throws(() => compileTagPattern("\\pL{1000}".repeat(21)), /expression too large/);
  });

  it("runs in linear time on patterns that make a backtracking engine explode", () => {
    const tag = `${"a".repeat(127)}!`;
    assert.equal(compileTagPattern("(a+)+$").test(tag), false);
    assert.equal(compileTagPattern("(a|a)*b", { fullMatch: true }).test(tag), false);
    assert.equal(compileTagPattern("(x+x+)+y").test("x".repeat(10_000)), false);
  });
});

describe("Go's strconv.ParseFloat", () => {
  const TABLE: [string, number | undefined][] = [
    ["1", 1],
    ["-62", -62],
    ["+3", 3],
    ["1.5", 1.5],
    [".5", 0.5],
    ["5.", 5],
    ["1e3", 1000],
    ["1E-2", 0.01],
    ["0x10p0", 16],
    ["0x1p-2", 0.25],
    ["0x1.8p1", 3],
    ["0x_1p0", 1],
    ["Inf", Infinity],
    ["-infinity", -Infinity],
    ["1e400", undefined], // out of range: ErrRange
    ["0x10", undefined], // a hex float needs its p exponent
    ["1_000", 1000], // underscores between digits (Go's atof tests)
    ["1_23.50_0_0e+1_2", 1.235e14],
    ["_123.5e+12", undefined],
    ["1__23.5e+12", undefined],
    ["123_.5e+12", undefined],
    ["123._5e+12", undefined],
    ["123.5e_+12", undefined],
    ["123.5e+12_", undefined],
    ["1a", undefined],
    ["", undefined],
    [" 1", undefined],
    ["1.2.3", undefined],
    ["+nan", undefined],
  ];
  for (const [text, expected] of TABLE) {
    it(`${JSON.stringify(text)} → ${String(expected)}`, () => assert.equal(parseGoFloat(text), expected));
  }
  it("NaN parses (any case)", () => assert.ok(Number.isNaN(parseGoFloat("NaN"))));
});

describe("policies", () => {
  const BAD: [TagPolicy, RegExp][] = [
    [{}, /needs a semver range or an order/],
    [{ semver: "^1", order: "numerical" }, /either a semver range or an order/],
    [{ semver: "^1", direction: "desc" }, /direction .* applies only to an order/],
    [{ order: "numerical", semverFilter: "x" }, /semverFilter applies only to a semver range/],
    [{ order: "alphabetical", helm: true }, /helm .* applies only to a semver range/],
    [{ semver: "^1", extract: "$1" }, /extract needs a filter/],
    [{ semver: "" }, /semver range is empty/],
    [{ order: "alphabetical", filter: "" }, /filter regex is empty/],
    [{ order: "random" as "numerical" }, /order must be numerical or alphabetical/],
    [{ order: "numerical", direction: "up" as "asc" }, /direction must be asc or desc/],
    [{ semver: "^1", filter: "(" }, /invalid filter regex/],
    [{ semver: "not a range" }, /invalid semver range/],
    [{ semver: 5 as unknown as string }, /semver must be a string/],
    [{ semver: "^1", helm: "yes" as unknown as boolean }, /helm must be true or false/],
  ];
  for (const [policy, message] of BAD) {
    it(`refuses ${JSON.stringify(policy)}`, () => {
      assert.throws(
        () => compileTagPolicy(policy),
        (err: unknown) => err instanceof TagPolicyError && message.test(err.message),
      );
    });
  }

  it("reports the key and how many tags qualified", () => {
    assert.deepEqual(selectTag(["v1.2.0", "1.3.0", "2.0.0", "latest"], { semver: "^1" }), {
      tag: "1.3.0",
      key: "1.3.0",
      candidates: 2,
    });
    assert.deepEqual(selectTag(["b-9", "b-10"], { filter: "b-(\\d+)", extract: "$1", order: "numerical" }), {
      tag: "b-10",
      key: "10",
      candidates: 2,
    });
    assert.equal(selectTag([], { order: "numerical" }), undefined);
  });

  it("two tags extracting the same value: the one sorting last in byte order wins, in any listing order", () => {
    const policy: TagPolicy = { filter: "^(?:a|b)-(\\d+)$", extract: "$1", order: "numerical" };
    assert.equal(selectTag(["a-7", "b-7", "a-3"], policy)?.tag, "b-7");
    assert.equal(selectTag(["b-7", "a-7", "a-3"], policy)?.tag, "b-7");
    assert.equal(selectTag(["1.0", "1"], { order: "numerical" })?.tag, "1.0");
  });

  it("names the tag a numerical order cannot read, and what was extracted from it", () => {
    assert.throws(
      () => selectTag(["x-1", "x-one"], { filter: "^x-(.*)$", extract: "$1", order: "numerical" }),
      /"one" \(from tag "x-one"\) is not a number/,
    );
  });

  it("recognises referrer tags", () => {
    const sha = "0123456789abcdef".repeat(4);
    for (const tag of [
      `sha256-${sha}`,
      `sha256-${sha}.sig`,
      `sha256-${sha}.att`,
      `sha256-${sha}.sbom`,
      "x.sig",
    ]) {
      assert.equal(isReferrerTag(tag), true, tag);
    }
    for (const tag of ["sha256", "sha256-abc", "signature", "1.0.0", "v1.sigs"])
      assert.equal(isReferrerTag(tag), false, tag);
  });

  it("describes a policy in one line", () => {
    assert.equal(describePolicy({ semver: "^1.2" }), "semver ^1.2");
    assert.equal(
      describePolicy({ semver: ">=1", semverFilter: ".*-rc.*", helm: true }),
      "semver >=1 semverFilter .*-rc.* (helm chart tags)",
    );
    assert.equal(
      describePolicy({ order: "numerical", direction: "desc", filter: "^b-(?P<n>\\d+)$", extract: "$n" }),
      "numerical order (desc) of $n from filter ^b-(?P<n>\\d+)$",
    );
    assert.equal(
      describePolicy({ order: "alphabetical", includeReferrerTags: true }),
      "alphabetical order including referrer tags",
    );
  });

  it("round-trips through query parameters", () => {
    const policies: TagPolicy[] = [
      { semver: "^1.x-0", filter: ".*-rc.*" },
      { semver: ">= 6.1.x-0", semverFilter: ".*-rc.*", helm: true, includeReferrerTags: false },
      { order: "numerical", direction: "desc", filter: "^main-[a-f0-9]+-(?P<ts>.*)", extract: "$ts" },
    ];
    for (const policy of policies) {
      const query = policyToQuery(policy);
      assert.deepEqual(parsePolicyQuery(new URLSearchParams(query)), policy);
    }
    assert.equal(
      new URLSearchParams(policyToQuery({ semver: "^1.2", helm: true })).toString(),
      "semver=%5E1.2&helm=true",
    );
    assert.deepEqual(parsePolicyQuery({ semver: "^1", other: "ignored", includeReferrerTags: "1" }), {
      semver: "^1",
      includeReferrerTags: true,
    });
  });

  it("refuses bad query parameters with clear messages", () => {
    const BAD: [string, RegExp][] = [
      ["semver=1&semver=2", /semver is given more than once/],
      ["order=random", /order must be numerical or alphabetical/],
      ["order=numerical&direction=sideways", /direction must be asc or desc/],
      ["semver=1&helm=yes", /helm must be true or false/],
      [`semver=${"1".repeat(300)}`, /semver is longer than 256/],
      [`order=alphabetical&filter=${"a".repeat(600)}`, /filter is longer than 512/],
      ["order=numerical&extract=$1", /extract needs a filter/],
      ["", /needs a semver range or an order/],
    ];
    for (const [query, message] of BAD) {
      assert.throws(
        () => parsePolicyQuery(new URLSearchParams(query)),
        (err: unknown) => err instanceof TagPolicyError && message.test(err.message),
        query,
      );
    }
  });
});

describe("50,000 tags", () => {
  const tags: string[] = [];
  for (let i = 0; i < 50_000; i++) {
    const major = i % 7;
    const minor = Math.floor(i / 7) % 100;
    const patch = Math.floor(i / 700);
    tags.push(i % 5 === 0 ? `${major}.${minor}.${patch}-rc.${i % 3}` : `v${major}.${minor}.${patch}`);
  }
  tags.push("latest", `sha256-${"f".repeat(64)}.sig`);

  it("semver over 50,000 tags, compiled once", () => {
    const compiled = compileTagPolicy({ semver: "^3.10" });
    const choice = compiled.select(tags);
    // Highest 3.x: patch 71 (i up to 49,999), minor as high as that patch allows.
    const expected = tags
      .map((t) => parseVersionTag(t))
      .filter(
        (p) =>
          p &&
          p.version.major === 3n &&
          p.version.prerelease === "" &&
          (p.version.minor > 10n || p.version.minor === 10n),
      )
      .sort((a, b) => a!.version.compare(b!.version))
      .at(-1)!.tag;
    assert.equal(choice?.tag, expected);
    assert.ok(choice!.candidates > 1000);
    // The same compiled policy gives the same answer again (no state kept between selections).
    assert.equal(compiled.select(tags)?.tag, expected);
  });

  it("filter + extract + numerical over 50,000 tags", () => {
    const builds = Array.from(
      { length: 50_000 },
      (_, i) => `main-${(i * 7919).toString(16).padStart(6, "0")}-${1_700_000_000 + ((i * 104729) % 50_000)}`,
    );
    const choice = selectTag(builds, {
      filter: "^main-[a-f0-9]+-(?P<ts>[0-9]+)$",
      extract: "$ts",
      order: "numerical",
    });
    assert.equal(choice?.key, String(1_700_000_000 + 49_999));
    assert.equal(choice?.candidates, 50_000);
  });
});
