/**
 * What every discovery source returns, so `wharf ls` and `wharf search` print one shape whichever source
 * answered: Wharf's discovery API, the managed index artifact (`<namespace>/index:latest`), or the
 * catalog + tag listing. Fields a source cannot know are null, never guessed.
 */

/** Where a listing came from, in the order they are tried. */
export type DiscoverySource = "wharf-api" | "index" | "catalog";

/** One artifact (one manifest digest) of one repository, with every tag that points at it. */
export interface DiscoveredArtifact {
  /** Repository path within the registry, e.g. `team/app` (no host). */
  repository: string;
  /** Tags naming this digest, sorted; empty for an untagged artifact. */
  tags: string[];
  /** Manifest digest; null only when the source listed tags without resolving them. */
  digest: string | null;
  /** Kind id from the catalogue (src/oci/kinds), e.g. `helm-chart`; null when unknown to the source. */
  kind: string | null;
  /** The kind's title (or one derived from an unknown media type). */
  kindTitle: string | null;
  title: string | null;
  version: string | null;
  description: string | null;
  /** ISO 8601 time the artifact was pushed or its entry last updated, when known. */
  updated: string | null;
}

/** What a source is asked for. */
export interface DiscoveryQuery {
  /** host[:port] */
  registry: string;
  /** A namespace (repository path prefix, e.g. `team`) to list below; undefined for the whole registry. */
  namespace?: string;
  /** Only artifacts of this kind id. */
  kind?: string;
}

export interface DiscoveryResult {
  source: DiscoverySource;
  registry: string;
  namespace: string | null;
  artifacts: DiscoveredArtifact[];
  /** The source stopped at a bound (entry count, page count) and the list is incomplete. */
  truncated: boolean;
  /** One-line notes for stderr, e.g. that the slow catalog fallback was used and why. */
  notes: string[];
}
