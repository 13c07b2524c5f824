export type { TagPolicy, TagChoice } from "./types.js";
export { TagPolicyError } from "./types.js";
export { selectTag, compileTagPolicy, type CompiledTagPolicy } from "./select.js";
export { parseVersionTag, isVersionTag, type VersionTag } from "./version.js";
