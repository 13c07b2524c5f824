/**
 * A tag resolution policy with Flux's semantics: `semver` (+ `semverFilter`) as OCIRepository's
 * `ref.semver`/`ref.semverFilter`, or `order` as ImagePolicy's numerical/alphabetical policies; `filter`
 * (+ `extract`) narrows the candidates first, as ImagePolicy's `filterTags.pattern`/`extract` do.
 */
export interface TagPolicy {
  /** A semver range (Masterminds/semver v3 constraint syntax, as Flux uses). */
  semver?: string;
  /** OCIRepository's semverFilter: a regex the tag must match before the range is applied. */
  semverFilter?: string;
  /** ImagePolicy's numerical or alphabetical policy (exclusive with `semver`). */
  order?: "numerical" | "alphabetical";
  /** Ascending (the default: the largest wins) or descending (the smallest wins). */
  direction?: "asc" | "desc";
  /** A regex (Go RE2 syntax, incl. `(?P<name>…)`) the tag must match. */
  filter?: string;
  /** What of the match the policy sorts on, e.g. `$ts` or `$1` (default: the whole tag). */
  extract?: string;
  /** Also consider `.sig`, `.att`, `.sbom` and `sha256-…` tags (excluded by default). */
  includeReferrerTags?: boolean;
}

/** The winning tag and what decided it. */
export interface TagChoice {
  tag: string;
  /** The value the policy compared: the normalised version, or the extracted text. */
  key: string;
  /** How many tags passed the filters. */
  candidates: number;
}

/** A policy that cannot be applied: a bad range or regex, or a numerical order over a non-number. */
export class TagPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TagPolicyError";
  }
}
