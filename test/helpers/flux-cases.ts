import type { TagPolicy } from "../../src/oci/tag-policy/index.js";

/**
 * Tag resolution cases with the answer Flux gives (OCIRepository `ref.semver`/`semverFilter`, ImagePolicy
 * semver/numerical/alphabetical policies with `filterTags`), taken from Flux's and Masterminds/semver's
 * own tests where noted. Run by the unit tests against the library and by the client tests against real
 * registries (Wharf's server-side endpoint, Wharf paged by the client, Distribution).
 *
 * Every tag is a valid OCI tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), so the cases can be pushed; where
 * Flux's own test uses a value no tag can hold (`-62`, `1.2.3+meta`), the case reaches it through
 * `filter`/`extract` or the Helm `_` mapping instead, and says so.
 */
export interface FluxCase {
  name: string;
  tags: string[];
  policy: TagPolicy;
  /** The winning tag, or an error message pattern. */
  expected: string | { error: RegExp } | { none: true };
}

const sha = "a".repeat(64);

export const FLUX_CASES: FluxCase[] = [
  // fluxcd/image-reflector-controller internal/policy/semver_test.go TestSemVer_Latest
  {
    name: "image-reflector semver_test Regular: 1.0.x skips 1.0.0.1 and 1.0.0p",
    tags: ["1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0", "0.1.0"],
    policy: { semver: "1.0.x" },
    expected: "1.0.1",
  },
  {
    name: "image-reflector semver_test Regular with prefix: the tag keeps its v",
    tags: ["v1.2.3", "v1.0.0", "v0.1.0"],
    policy: { semver: "1.0.x" },
    expected: "v1.0.0",
  },
  {
    name: "image-reflector semver_test With invalid prefix: b1.0.0 is no version",
    tags: ["b1.2.3", "b1.0.0", "b0.1.0"],
    policy: { semver: "1.0.x" },
    expected: { none: true },
  },
  {
    name: "image-reflector semver_test With non-matching version list",
    tags: ["1.2.0"],
    policy: { semver: "1.0.x" },
    expected: { none: true },
  },
  {
    name: "image-reflector semver_test NewSemVer invalid range 1.0.0p",
    tags: ["1.0.0"],
    policy: { semver: "1.0.0p" },
    expected: { error: /invalid semver range/ },
  },
  {
    name: "image-reflector semver_test NewSemVer invalid range x1",
    tags: ["1.0.0"],
    policy: { semver: "x1" },
    expected: { error: /invalid semver range/ },
  },
  {
    name: "image-reflector semver_test NewSemVer valid range >0,<2.0",
    tags: ["0.0.9", "1.9.9", "2.0.0", "0.5.0-rc.1"],
    policy: { semver: ">0,<2.0" },
    expected: "1.9.9",
  },
  // fluxcd/pkg version/version_test.go TestParseVersion: versions need three parts
  {
    name: "fluxcd/pkg version_test: v1.0, v1, v1.2.beta, v1.2-5 and v1.2.3.4 are not versions",
    tags: ["v1.0", "v1", "v1.2.beta", "v1.2-5", "v1.2-beta.5", "v1.2.3.4", "v0.9.0"],
    policy: { semver: ">=0.1" },
    expected: "v0.9.0",
  },
  {
    name: "fluxcd/pkg version_test: v1.2.3-rc1-with-hypen is a version (pre-release with hyphens)",
    tags: ["v1.2.3-rc1-with-hypen", "v1.2.2"],
    policy: { semver: ">=1.2.3-0" },
    expected: "v1.2.3-rc1-with-hypen",
  },
  // Pre-releases (Masterminds constraints_test.go TestConstraintCheck / TestConstraintsCheck, v3.4 rule)
  {
    name: "Masterminds: ^1.2.0 ignores 1.2.1-alpha.1 (the range names no pre-release)",
    tags: ["1.2.0", "1.2.1-alpha.1", "1.3.0-beta.1"],
    policy: { semver: "^1.2.0" },
    expected: "1.2.0",
  },
  {
    name: "Masterminds: ^1.2.0-alpha.0 admits 1.2.1-alpha.1 (pre-releases across versions)",
    tags: ["1.2.0-alpha.0", "1.2.1-alpha.1", "2.0.0-alpha.1"],
    policy: { semver: "^1.2.0-alpha.0" },
    expected: "1.2.1-alpha.1",
  },
  {
    name: "Masterminds: ^1.2.0-alpha.2 excludes 1.2.0-alpha.1",
    tags: ["1.2.0-alpha.1"],
    policy: { semver: "^1.2.0-alpha.2" },
    expected: { none: true },
  },
  {
    name: "Masterminds: * matches no pre-release, *-0 matches them",
    tags: ["1.2.3-alpha.1", "1.2.2"],
    policy: { semver: "*-0" },
    expected: "1.2.3-alpha.1",
  },
  {
    name: "Masterminds: * alone skips 1.2.3-alpha.1",
    tags: ["1.2.3-alpha.1", "1.2.2"],
    policy: { semver: "*" },
    expected: "1.2.2",
  },
  {
    name: "Masterminds: ~1.2.3-beta.2 admits 1.2.4-beta.2 but not 1.3.4-beta.2",
    tags: ["1.2.3-beta.4", "1.2.4-beta.2", "1.3.4-beta.2"],
    policy: { semver: "~1.2.3-beta.2" },
    expected: "1.2.4-beta.2",
  },
  {
    name: "Masterminds: pre-release ordering (numeric identifiers numerically, below alphanumeric ones)",
    tags: ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1"],
    policy: { semver: ">=1.0.0-0 <1.0.0" },
    expected: "1.0.0-rc.1",
  },
  {
    name: "Masterminds: beta.11 is above beta.2",
    tags: ["1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-beta.9"],
    policy: { semver: "~1.0.0-beta" },
    expected: "1.0.0-beta.11",
  },
  {
    name: "Masterminds v3.4: a pre-release in one comparator opens the and-group to pre-releases (2.0.0-rc.1 < 2.0.0)",
    tags: ["1.5.0-rc.1", "1.4.0", "2.0.0-rc.1", "2.0.0"],
    policy: { semver: ">=1.2.3-0 <2.0.0" },
    expected: "2.0.0-rc.1",
  },
  {
    name: "Masterminds: ^0.2.3 stays within 0.2",
    tags: ["0.2.3", "0.2.5", "0.5.6", "1.0.0"],
    policy: { semver: "^0.2.3" },
    expected: "0.2.5",
  },
  {
    name: "Masterminds: ^0.0.3 is exactly 0.0.3",
    tags: ["0.0.3", "0.0.4", "0.1.0"],
    policy: { semver: "^0.0.3" },
    expected: "0.0.3",
  },
  {
    name: "Masterminds: >11.1 needs 11.2 or higher",
    tags: ["11.1.0", "11.1.9"],
    policy: { semver: ">11.1" },
    expected: { none: true },
  },
  {
    name: "Masterminds: <=1.1 admits 1.1.9 (a dirty upper bound covers its patches)",
    tags: ["1.1.9", "1.2.0", "0.9.0"],
    policy: { semver: "<=1.1" },
    expected: "1.1.9",
  },
  {
    name: "Masterminds: || alternatives and comma/space separated and-groups",
    tags: ["1.2.3", "1.9.9", "3.0.0", "3.5.0", "4.1.2"],
    policy: { semver: ">=1.1, <2, !=1.2.3 || >= 3 <4" },
    expected: "3.5.0",
  },
  {
    name: "Masterminds: hyphen range 1.1 - 2 is >=1.1 <=2 (2.x included)",
    tags: ["1.0.0", "1.1.1", "2.9.0", "3.0.0"],
    policy: { semver: "1.1 - 2" },
    expected: "2.9.0",
  },
  {
    name: "Masterminds: 1.1-3 is ~1.1.0-3 (a pre-release, not a range): 4.3.2 is out, 1.1.0 in",
    tags: ["1.1.0", "4.3.2"],
    policy: { semver: "1.1-3" },
    expected: "1.1.0",
  },
  {
    name: "Masterminds TestNewConstraint: 12.3.4.1234 is an improper constraint",
    tags: ["12.3.4"],
    policy: { semver: "12.3.4.1234" },
    expected: { error: /invalid semver range/ },
  },
  // Build metadata: ignored by comparison; ties go to the tag that sorts last in byte order.
  {
    name: "equal versions 1.0.0 and v1.0.0 tie-break by byte order (documented): v1.0.0",
    tags: ["1.0.0", "v1.0.0", "0.9.0"],
    policy: { semver: "^1" },
    expected: "v1.0.0",
  },
  {
    name: "build metadata is ignored when comparing: 1.0.0 and 1.0.0_b (helm) tie, byte order picks 1.0.0_b",
    tags: ["1.0.0_b", "1.0.0", "0.9.0_z"],
    policy: { semver: "^0.9 || ^1", helm: true },
    expected: "1.0.0_b",
  },
  // OCIRepository semverFilter (fluxcd/source-controller getTagBySemver + filterTags; docs example)
  {
    name: "source-controller docs: semver '>= 6.1.x-0' with semverFilter '.*-rc.*' picks the latest rc",
    tags: ["6.1.5", "6.1.6-rc.1", "6.1.6-rc.2", "6.1.6", "6.2.0-beta.1"],
    policy: { semver: ">= 6.1.x-0", semverFilter: ".*-rc.*" },
    expected: "6.1.6-rc.2",
  },
  {
    name: "source-controller: semverFilter '^v' keeps only v-prefixed versions",
    tags: ["v1.0.0", "1.5.0", "v1.2.0"],
    policy: { semver: ">=1", semverFilter: "^v" },
    expected: "v1.2.0",
  },
  {
    name: "source-controller: an invalid semverFilter regex is an error",
    tags: ["1.0.0"],
    policy: { semver: ">=1", semverFilter: "(unclosed" },
    expected: { error: /invalid semverFilter regex/ },
  },
  // seed 004: --filter '.*-rc.*' --semver '^1.x-0'
  {
    name: "seed 004: filter '.*-rc.*' with semver '^1.x-0' picks the latest 1.x release candidate",
    tags: ["1.2.0", "1.2.1-rc.1", "1.3.0-rc.1", "1.3.0-rc.2", "1.3.0", "2.0.0-rc.1"],
    policy: { filter: ".*-rc.*", semver: "^1.x-0" },
    expected: "1.3.0-rc.2",
  },
  // ImagePolicy filterTags + extract (image-reflector-controller filter_test.go, Flux docs)
  {
    name: "image-reflector filter_test: ver(\\d+) with $1, alphabetical",
    tags: ["ver1", "ver2", "rel1", "ver3"],
    policy: { filter: "ver(\\d+)", extract: "$1", order: "alphabetical" },
    expected: "ver3",
  },
  {
    name: "seed 004 / Flux docs: (?P<ts>.*) with $ts, numerical ascending picks the newest timestamp",
    tags: [
      "main-a1b2c3d-1606234201",
      "main-e4f5a6b-1606364286",
      "main-c7d8e9f-1606334092",
      "dev-0000000-1700000000",
    ],
    policy: { filter: "^main-[a-fA-F0-9]+-(?P<ts>.*)", extract: "$ts", order: "numerical" },
    expected: "main-e4f5a6b-1606364286",
  },
  {
    name: "filter + extract with ${name}: numerical descending picks the oldest build",
    tags: ["build-17-x", "build-9-x", "build-120-x"],
    policy: { filter: "^build-(?P<n>[0-9]+)-", extract: "${n}", order: "numerical", direction: "desc" },
    expected: "build-9-x",
  },
  {
    name: "filter + extract feeding semver: (?P<version>.*)-debian",
    tags: ["1.2.0-debian", "1.10.0-debian", "1.9.0-alpine", "2.0.0-debian"],
    policy: { filter: "^(?P<version>.*)-debian$", extract: "$version", semver: "^1" },
    expected: "1.10.0-debian",
  },
  {
    name: "Go's Expand: $1x is the group named 1x (none), so every tag extracts '' and the byte-order tie-break decides",
    tags: ["v10", "v9", "v100"],
    policy: { filter: "v(\\d+)", extract: "$1x", order: "alphabetical" },
    expected: "v9",
  },
  {
    name: "filter is unanchored like Go's MatchString",
    tags: ["app-rc-1", "rc-2", "stable-3"],
    policy: { filter: "rc", order: "alphabetical" },
    expected: "rc-2",
  },
  {
    name: "(?i) flag applies Go's case-insensitive matching",
    tags: ["RELEASE-1", "release-2", "snapshot-9"],
    policy: { filter: "(?i)^release-(\\d+)$", extract: "$1", order: "numerical" },
    expected: "release-2",
  },
  {
    name: "a lookbehind is not RE2 syntax: refused, not silently different",
    tags: ["v1"],
    policy: { filter: "(?<=v)1", order: "alphabetical" },
    expected: { error: /invalid filter regex/ },
  },
  // image-reflector-controller numerical_test.go TestNumerical_Latest
  {
    name: "image-reflector numerical_test: integers ascending (negatives reached through extract)",
    tags: ["n-62", "n-88", "n73", "n72", "n15", "n16", "n29", "n-33", "n-91"],
    policy: { filter: "^n(.*)$", extract: "$1", order: "numerical" },
    expected: "n73",
  },
  {
    name: "image-reflector numerical_test: integers descending",
    tags: ["n5", "n-8", "n-78", "n25", "n70", "n-4", "n80", "n92", "n-20", "n-24"],
    policy: { filter: "^n(.*)$", extract: "$1", order: "numerical", direction: "desc" },
    expected: "n-78",
  },
  {
    name: "image-reflector numerical_test: floats ascending",
    tags: [
      "47.40896403322944",
      "27.8520927455902",
      "24.71884721436865",
      "53.47333823144817",
      "3.2008658570411086",
    ],
    policy: { order: "numerical" },
    expected: "53.47333823144817",
  },
  {
    name: "image-reflector numerical_test: floats descending",
    tags: [
      "57.82948329142309",
      "22.40184684363291",
      "77.70488240399305",
      "16.06867070412028",
      "53.735674335181216",
    ],
    policy: { order: "numerical", direction: "desc" },
    expected: "16.06867070412028",
  },
  {
    name: "image-reflector numerical_test: Unix timestamps ascending",
    tags: ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"],
    policy: { order: "numerical" },
    expected: "1606364286",
  },
  {
    name: "image-reflector numerical_test: Unix timestamps descending",
    tags: ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"],
    policy: { order: "numerical", direction: "desc" },
    expected: "1606234201",
  },
  {
    name: "image-reflector numerical_test: numbers compare as numbers, not text (10 > 9)",
    tags: ["9", "10", "100"],
    policy: { order: "numerical" },
    expected: "100",
  },
  {
    name: "image-reflector numerical_test With invalid numerical value: an error naming the tag",
    tags: ["0", "1a", "b"],
    policy: { order: "numerical" },
    expected: { error: /"1a" is not a number/ },
  },
  // image-reflector-controller alphabetical_test.go TestAlphabetical_Latest
  {
    name: "image-reflector alphabetical_test: Ubuntu CalVer",
    tags: ["16.04", "16.04.1", "16.10", "20.04", "20.10"],
    policy: { order: "alphabetical" },
    expected: "20.10",
  },
  {
    name: "image-reflector alphabetical_test: Ubuntu CalVer descending",
    tags: ["16.04", "16.04.1", "16.10", "20.04", "20.10"],
    policy: { order: "alphabetical", direction: "desc" },
    expected: "16.04",
  },
  {
    name: "image-reflector alphabetical_test: Ubuntu code names",
    tags: ["xenial", "yakkety", "zesty", "artful", "bionic"],
    policy: { order: "alphabetical" },
    expected: "zesty",
  },
  {
    name: "image-reflector alphabetical_test: Ubuntu code names descending",
    tags: ["xenial", "yakkety", "zesty", "artful", "bionic"],
    policy: { order: "alphabetical", direction: "desc" },
    expected: "artful",
  },
  {
    name: "image-reflector alphabetical_test: timestamps with prefix",
    tags: ["rel-1606234201", "rel-1606364286", "rel-1606334092", "rel-1606334284", "rel-1606334201"],
    policy: { order: "alphabetical" },
    expected: "rel-1606364286",
  },
  {
    name: "alphabetical is byte order: upper case sorts before lower case",
    tags: ["Zeta", "alpha", "Beta"],
    policy: { order: "alphabetical" },
    expected: "alpha",
  },
  // Referrer tags (cosign .sig/.att/.sbom, the referrers API's sha256-<hex> fallback) are skipped.
  {
    name: "referrer tags are excluded by default (numerical would otherwise fail on them)",
    tags: ["100", "200", `sha256-${sha}.sig`, `sha256-${sha}.att`, `sha256-${sha}.sbom`, `sha256-${sha}`],
    policy: { order: "numerical" },
    expected: "200",
  },
  {
    name: "includeReferrerTags keeps them (alphabetical: sha256-… sorts last)",
    tags: ["latest", `sha256-${sha}.sig`],
    policy: { order: "alphabetical", includeReferrerTags: true },
    expected: `sha256-${sha}.sig`,
  },
  // Helm chart tags: `_` stands for `+` (helm/helm#10166; source-controller's OCI chart repository).
  {
    name: "helm: 1.2.3_build.1 is the version 1.2.3+build.1; the real tag is returned",
    tags: ["1.2.2", "1.2.3_build.1", "1.3.0-rc.1_b2"],
    policy: { semver: "~1.2", helm: true },
    expected: "1.2.3_build.1",
  },
  {
    name: "helm: without helm, 1.2.3_build.1 is not a version",
    tags: ["1.2.2", "1.2.3_build.1"],
    policy: { semver: "~1.2" },
    expected: "1.2.2",
  },
  {
    name: "helm: chart versions take no v prefix (Helm's StrictNewVersion)",
    tags: ["v1.5.0", "1.4.0_meta"],
    policy: { semver: ">=1", helm: true },
    expected: "1.4.0_meta",
  },
  {
    name: "helm: a pre-release chart tag needs a range naming a pre-release",
    tags: ["1.3.0-rc.1_b2", "1.2.0"],
    policy: { semver: ">=1.2.0-0", helm: true },
    expected: "1.3.0-rc.1_b2",
  },
];
