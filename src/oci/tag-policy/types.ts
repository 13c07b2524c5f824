/**
 * A tag resolution policy with Flux's semantics: `semver` (+ `semverFilter`) as OCIRepository's
 * `ref.semver`/`ref.semverFilter`, or `order` as ImagePolicy's numerical/alphabetical policies; `filter`
 * (+ `extract`) narrows the candidates first, as ImagePolicy's `filterTags.pattern`/`extract` do, and
 * combines with either policy (the policy then ranks the extracted values; the original tag is returned).
 *
 * Ties: when two candidates rank equal (`1.0.0`, `v1.0.0` and `1.0.0+b` are equal versions; `1` and `1.0`
 * are equal numbers; two tags can extract the same value), the tag that sorts last in byte order wins
 * (`v1.0.0` above), whatever the direction and whatever order the registry listed the tags in.
 */
export interface TagPolicy {
  /** A semver range (Masterminds/semver v3 constraint syntax, as Flux uses). */
  semver?: string;
  /** OCIRepository's semverFilter: a regex the tag must match before the range is applied. */
  semverFilter?: string;
  /** ImagePolicy's numerical or alphabetical policy (exclusive with `semver`). */
  order?: "numerical" | "alphabetical";
  /** Ascending (the default: the largest wins) or descending (the smallest wins); only with `order`. */
  direction?: "asc" | "desc";
  /** A regex (Go RE2 syntax, incl. `(?P<name>…)`) the tag must match (unanchored, like Go's MatchString). */
  filter?: string;
  /** What of the match the policy ranks, e.g. `$ts` or `$1` (Go's Regexp.Expand; default: the whole tag). */
  extract?: string;
  /** Helm chart tags: `1.2.3_meta` is the version `1.2.3+meta` (Helm's `_`↔`+` mapping); only with `semver`. */
  helm?: boolean;
  /** Also consider `.sig`, `.att`, `.sbom` and `sha256-…` tags (excluded by default). */
  includeReferrerTags?: boolean;
}

/** The winning tag and what decided it. */
export interface TagChoice {
  /** The tag as it exists in the registry (never the Helm-mapped or extracted text). */
  tag: string;
  /** The value the policy compared: the normalised version, or the extracted text. */
  key: string;
  /** How many tags passed the filters (and, for semver, the range). */
  candidates: number;
}

/** A policy that cannot be applied: a bad range or regex, or a numerical order over a non-number. */
export class TagPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TagPolicyError";
  }
}
