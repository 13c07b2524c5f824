import type { TagPolicy } from "../../src/oci/tag-policy/index.js";

/**
 * Tag resolution cases with the answer Flux gives (OCIRepository `ref.semver`/`semverFilter`, ImagePolicy
 * semver/numerical/alphabetical policies with `filterTags`), taken from Flux's and Masterminds/semver's
 * own tests where noted. Run by the unit tests against the library and by the client tests against real
 * registries (Wharf's server-side endpoint, Wharf paged by the client, Distribution).
 */
export interface FluxCase {
  name: string;
  tags: string[];
  policy: TagPolicy;
  /** The winning tag, or an error message pattern. */
  expected: string | { error: RegExp } | { none: true };
}

export const FLUX_CASES: FluxCase[] = [
  {
    name: "semver: highest stable version in range",
    tags: ["1.0.0", "1.2.0", "1.2.3", "1.3.0-rc.1", "2.0.0"],
    policy: { semver: "^1.2" },
    expected: "1.2.3",
  },
];
