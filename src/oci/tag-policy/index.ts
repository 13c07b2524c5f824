export type { TagPolicy, TagChoice } from "./types.js";
export { TagPolicyError } from "./types.js";
export { selectTag, compileTagPolicy, isReferrerTag, type CompiledTagPolicy } from "./select.js";
export {
  parseVersionTag,
  isVersionTag,
  Version,
  type VersionTag,
  type VersionTagOptions,
} from "./version.js";
export { SemverRange, MAX_RANGE_LENGTH } from "./constraints.js";
export {
  GoRegexp,
  MAX_PATTERN_LENGTH,
  compileTagPattern,
  type TagPattern,
  type TagPatternOptions,
} from "./go-regexp.js";
export {
  describePolicy,
  parsePolicyQuery,
  policyToQuery,
  validatePolicy,
  type QueryInput,
} from "./policy.js";
