import { indexRepository, INDEX_TAG, isBelow } from "../../oci/index-artifact/index.js";
import { detectKind, extractFacts } from "../../oci/kinds/index.js";
import { NotFoundError } from "../errors.js";
import { mapLimit } from "../limit.js";
import type { RegistryClient } from "../registry.js";
import { kindMatches } from "./kinds.js";
import type { DiscoveredArtifact, DiscoveryQuery, DiscoveryResult } from "./types.js";

/** Bounds on the slow listing: requests grow with repositories × tags, so both are capped. */
export const CATALOG_LIMITS = { repositories: 1000, tagsPerRepository: 100, concurrency: 8 };

/** Tags the referrers fallback and cosign create (`sha256-<hex>[.sig|.att|.sbom]`): accessories, not artifacts. */
const ACCESSORY_TAG = /^sha(?:256|512)-[0-9a-f]{64,128}(?:\.[a-z]+)?$/;

/**
 * The slow fallback: every repository of the catalog below the namespace, every tag of each, and each
 * tag's manifest (never a layer) for its kind. Tags naming one digest become one artifact.
 */
export async function fromCatalog(
  registry: RegistryClient,
  query: DiscoveryQuery,
  notes: string[] = [],
  limits = CATALOG_LIMITS,
): Promise<DiscoveryResult> {
  const namespace = query.namespace ?? "";
  let truncated = false;
  const repositories: string[] = [];
  for await (const name of registry.catalog()) {
    if (!isBelow(name, namespace)) continue;
    if (repositories.length >= limits.repositories) {
      truncated = true;
      break;
    }
    repositories.push(name);
  }
  const perRepository = await mapLimit(repositories, limits.concurrency, async (repository) => {
    const tags: string[] = [];
    try {
      for await (const tag of registry.tags(repository)) {
        if (ACCESSORY_TAG.test(tag)) continue;
        if (tags.length >= limits.tagsPerRepository) {
          truncated = true;
          break;
        }
        tags.push(tag);
      }
    } catch (err) {
      // Listed in the catalog but gone (or emptied) since: nothing to show.
      if (err instanceof NotFoundError) return [];
      throw err;
    }
    return describeTags(registry, repository, tags);
  });
  const artifacts = perRepository.flat().filter((a) => kindMatches(a.kind, query.kind));
  const where = `${registry.host}/${indexRepository(namespace)}:${INDEX_TAG}`;
  return {
    source: "catalog",
    registry: query.registry,
    namespace: query.namespace ?? null,
    artifacts,
    truncated,
    notes: [
      ...notes,
      // Notes from the sources tried before say why their index was of no use; else there was none.
      `${notes.length > 0 ? "" : `no index artifact at ${where}: `}listed the catalog and every tag instead (slow; \`wharf push … --index\` keeps an index)`,
      ...(truncated
        ? [
            `stopped at ${limits.repositories} repositories and ${limits.tagsPerRepository} tags each: the list is incomplete`,
          ]
        : []),
    ],
  };
}

async function describeTags(
  registry: RegistryClient,
  repository: string,
  tags: string[],
): Promise<DiscoveredArtifact[]> {
  const byDigest = new Map<string, DiscoveredArtifact>();
  for (const tag of tags.sort()) {
    let data;
    try {
      data = await registry.getManifest(repository, tag);
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    const known = byDigest.get(data.digest);
    if (known) {
      known.tags.push(tag);
      continue;
    }
    const manifest: unknown = JSON.parse(data.bytes.toString("utf8"));
    const detection = detectKind({ manifest, tag });
    if (detection.accessory) continue;
    const facts = extractFacts({ manifest, tag, detection });
    byDigest.set(data.digest, {
      repository,
      tags: [tag],
      digest: data.digest,
      kind: facts.kind,
      kindTitle: facts.kindTitle,
      title: facts.title,
      version: facts.version,
      description: facts.description,
      updated: facts.created,
    });
  }
  return [...byDigest.values()];
}
