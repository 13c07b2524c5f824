export type { DiscoveredArtifact, DiscoveryQuery, DiscoveryResult, DiscoverySource } from "./types.js";
export { fromIndex } from "./index-source.js";
export { fromCatalog, CATALOG_LIMITS } from "./catalog-source.js";
export { kindMatches } from "./kinds.js";
// The order sources are tried in (API, index artifact, catalog) is listing.ts's.
