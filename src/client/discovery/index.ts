import type { Client } from "../client.js";
import { fromCatalog } from "./catalog-source.js";
import { fromIndex } from "./index-source.js";
import type { DiscoveryQuery, DiscoveryResult } from "./types.js";

export type { DiscoveredArtifact, DiscoveryQuery, DiscoveryResult, DiscoverySource } from "./types.js";
export { fromIndex } from "./index-source.js";
export { fromCatalog, CATALOG_LIMITS } from "./catalog-source.js";
export { kindMatches } from "./kinds.js";

/**
 * Lists the artifacts below a namespace from the best source the registry has: the index artifact,
 * else the catalog and tag listing (Wharf's discovery API goes first when the registry has it).
 */
export async function discover(client: Client, query: DiscoveryQuery): Promise<DiscoveryResult> {
  const registry = client.registry(query.registry);
  const notes: string[] = [];
  return (await fromIndex(registry, query, notes)) ?? (await fromCatalog(registry, query, notes));
}
