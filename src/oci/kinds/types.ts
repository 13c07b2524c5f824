/**
 * The shape of an artifact kind. A kind is data: the built-in catalogue and operator-supplied `kinds:`
 * entries share this shape, and nothing about a kind lives in code.
 */

/**
 * Detection rules. Each list is a set of patterns: an exact string, or a string with one `*` that stands
 * for any run of characters (a prefix/suffix test, linear in the input: never a regular expression, since
 * operators supply these too). Media types are compared without parameters and case-insensitively.
 */
export interface KindRules {
  /** Stage 1: the manifest's or index's `artifactType`. */
  artifactTypes?: string[];
  /** Stage 2: `config.mediaType` of an image manifest. */
  configMediaTypes?: string[];
  /** Stage 3: the media type of any layer. */
  layerMediaTypes?: string[];
  /**
   * Stage 4: annotations (key → value pattern; `*` for any value) on the manifest or index itself, on any
   * of a manifest's layers, or on the descriptor the artifact was reached through in a parent index.
   */
  annotations?: Record<string, string>;
  /** Stage 5: labels in the config blob's `config.Labels` (key pattern → value pattern). */
  configLabels?: Record<string, string>;
  /** Stage 5: `os/architecture` of the config blob, e.g. `wasi/wasm` (a pattern, like the others). */
  platforms?: string[];
  /** Stage 6: the cosign tag convention `sha256-<hex>.<suffix>` (suffix without the dot: sig, att, sbom). */
  tagSuffixes?: string[];
  /**
   * Last stage, for the plain container kinds: the manifest's own media type and, when given, the config's
   * too. Only reached when nothing more specific matched and no unknown artifactType was declared.
   */
  fallback?: { manifestMediaTypes: string[]; configMediaTypes?: string[] };
}

export interface ActionTemplate {
  /** A short label, e.g. "Install". */
  label: string;
  /**
   * The command or snippet, with placeholders {registry}, {repository}, {tag}, {digest}, {reference}, and
   * for accessories {subject} (the digest of the artifact they refer to).
   * See actions.ts for how missing values are handled.
   */
  template: string;
  /** The same action for an artifact addressed by digest only, where `template` needs a tag. */
  byDigest?: string;
}

export interface Kind {
  /** Stable identifier, lower-case words joined by dashes (e.g. `helm-chart`). */
  id: string;
  title: string;
  /** One line. */
  description: string;
  /** Name of an icon in Wharf's icon set (icons.ts); operator kinds choose from the same set. */
  icon: string;
  /** Signatures, SBOMs, attestations: listed under the artifact they refer to rather than on their own. */
  accessory: boolean;
  /** Not a platform of an index even when one lists it with a platform (BuildKit attestations). */
  hiddenFromPlatforms: boolean;
  detect: KindRules;
  actions: ActionTemplate[];
}
