import { indexRepository, INDEX_TAG } from "../../oci/index-artifact/index.js";
import { AuthError, IntegrityError } from "../errors.js";
import { readIndex } from "../managed-index/read.js";
import type { RegistryClient } from "../registry.js";
import { kindMatches, kindTitle } from "./kinds.js";
import type { DiscoveryQuery, DiscoveryResult } from "./types.js";

/**
 * The namespace's index artifact (`<namespace>/index:latest`), or null when there is none to read, so
 * the caller goes on to the next source. One the caller may not read, or that is not a valid Wharf
 * index, counts as none, with a note saying why.
 */
export async function fromIndex(
  registry: RegistryClient,
  query: DiscoveryQuery,
  notes: string[] = [],
): Promise<DiscoveryResult | null> {
  const namespace = query.namespace ?? "";
  let read;
  try {
    read = await readIndex(registry, namespace);
  } catch (err) {
    // An index we may not read, or one that is damaged or not Wharf's, is no index: list another way.
    if (!(err instanceof AuthError) && !(err instanceof IntegrityError)) throw err;
    notes.push(`cannot read ${registry.host}/${indexRepository(namespace)}:${INDEX_TAG}: ${err.message}`);
    return null;
  }
  if (!read) return null;
  const artifacts = read.doc.entries
    .filter((e) => kindMatches(e.kind, query.kind))
    .map((e) => ({
      repository: e.repository,
      tags: e.tags,
      digest: e.digest,
      kind: e.kind,
      kindTitle: kindTitle(e.kind),
      title: e.title,
      version: e.version,
      description: e.description,
      updated: e.updated,
    }));
  return {
    source: "index",
    registry: query.registry,
    namespace: query.namespace ?? null,
    artifacts,
    truncated: false,
    notes: [...notes, `listed from ${registry.host}/${indexRepository(namespace)}:${INDEX_TAG}`],
  };
}
