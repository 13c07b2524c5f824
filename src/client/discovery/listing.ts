import { BUILTIN_KINDS } from "../../oci/kinds/index.js";
import type { Client } from "../client.js";
import { AuthError, NotFoundError, UsageError } from "../errors.js";
import { mapLimit } from "../limit.js";
import type { ApiArtifact, ApiSignature } from "./api-shapes.js";
import { resolveKindFilter } from "./kind-filter.js";
import { MAX_QUERY_LENGTH, rankEntries } from "./matching.js";
import type { DiscoveredArtifact, DiscoveryQuery, DiscoveryResult, DiscoverySource } from "./types.js";
import { MAX_ENTRIES, WharfApi } from "./wharf-api.js";
import { fromCatalog } from "./catalog-source.js";
import { fromIndex } from "./index-source.js";

/** An entry as `wharf ls` and `wharf search` print it: what every source gives, and what the API adds. */
export interface ListedArtifact extends DiscoveredArtifact {
  /** Bytes of config and layers, when the source knows it. */
  size: number | null;
  platforms: string[];
  /** Accessories (signatures, SBOMs, attestations) listed under this artifact: count per kind id. */
  accessories: Record<string, number>;
  /** Whether a key the registry trusts signed it (Wharf's API); null when the source cannot say. */
  signed: boolean | null;
  /** The trusted keys' signatures, when the registry lists them. */
  signatures: ApiSignature[];
  /** Pulls of the manifest and the last one's time, when the registry counts them (Wharf's API). */
  pullCount?: number | null;
  lastPulled?: string | null;
}

export interface Listing extends Omit<DiscoveryResult, "artifacts"> {
  artifacts: ListedArtifact[];
  /** Kind ids the listing was filtered to (from --kind), if any. */
  kinds: string[] | null;
}

/**
 * A listing source tried when the registry has no discovery API, in order: the managed index artifact,
 * then the catalog + tag listing (src/client/discovery, engineer G). Each answers undefined when it has
 * nothing for this registry (no index artifact, no catalog), and the next is tried.
 */
export interface FallbackSource {
  id: DiscoverySource;
  /** `notes` collects why a source had nothing (an index that cannot be read), for the next one's answer. */
  list(client: Client, query: DiscoveryQuery, notes: string[]): Promise<DiscoveryResult | undefined>;
}

export const INDEX_SOURCE: FallbackSource = {
  id: "index",
  list: async (client, query, notes) =>
    (await fromIndex(client.registry(query.registry), query, notes)) ?? undefined,
};
export const CATALOG_SOURCE: FallbackSource = {
  id: "catalog",
  list: (client, query, notes) => fromCatalog(client.registry(query.registry), query, notes),
};
export const FALLBACK_SOURCES: readonly FallbackSource[] = [INDEX_SOURCE, CATALOG_SOURCE];

export interface SourceOptions {
  /** The registry's discovery API when already opened; null when it is known to have none. */
  api?: WharfApi | null;
  fallbacks?: readonly FallbackSource[];
  /** Notes from sources tried before (an index that could not be read), carried into the answer. */
  notes?: string[];
}

export interface ListRequest {
  registry: string;
  namespace?: string;
  /** `--kind`: a kind id or a word of one. */
  kind?: string;
}

export interface SearchRequest extends ListRequest {
  q?: string;
  /** `key=value` annotation filters (the discovery API only). */
  annotations?: string[];
}

/** Every artifact below a namespace (or in the whole registry), from the best source the registry has. */
export async function listArtifacts(
  client: Client,
  request: ListRequest,
  options: SourceOptions = {},
): Promise<Listing> {
  const api = options.api !== undefined ? options.api : await WharfApi.open(client, request.registry);
  if (api) return listThroughApi(api, request);
  const listing = await tryFallbacks(client, request, options.fallbacks ?? FALLBACK_SOURCES, options.notes);
  if (listing) return listing;
  throw new NotFoundError(
    `${request.registry} has no Wharf discovery API, index artifact or catalog to list`,
  );
}

/** Artifacts matching a search text, kind and annotations, most relevant first. */
export async function searchArtifacts(
  client: Client,
  request: SearchRequest,
  options: SourceOptions = {},
): Promise<Listing> {
  const q = request.q?.trim() ?? "";
  if (q.length > MAX_QUERY_LENGTH)
    throw new UsageError(`the search text is longer than ${MAX_QUERY_LENGTH} characters`);
  const annotations = request.annotations ?? [];
  if (q === "" && annotations.length === 0) throw new UsageError("give a search text (or --annotation)");
  const api = options.api !== undefined ? options.api : await WharfApi.open(client, request.registry);
  if (api) {
    const kinds = request.kind ? resolveKindFilter(request.kind, api.kinds) : null;
    const found = await api.search({
      q: q === "" ? undefined : q,
      kind: kinds?.length === 1 ? kinds[0] : undefined,
      annotations,
    });
    const artifacts = found.items
      .filter((a) => inNamespace(a.repository, request.namespace) && ofKinds(a.kind, kinds))
      .map(fromApi);
    const listing = apiListing(request, artifacts, kinds, found.truncated);
    if (artifacts.length === 0 && (await api.anonymousWhereLoginIsWanted()))
      listing.notes.push(api.loginHint());
    return listing;
  }
  if (annotations.length > 0) {
    throw new UsageError(
      `${request.registry} has no Wharf discovery API: --annotation filters need one (search by text instead)`,
    );
  }
  const listing = await listArtifacts(client, request, { api: null, fallbacks: options.fallbacks });
  return { ...listing, artifacts: rankEntries(listing.artifacts, q) };
}

async function listThroughApi(api: WharfApi, request: ListRequest): Promise<Listing> {
  const kinds = request.kind ? resolveKindFilter(request.kind, api.kinds) : null;
  const kind = kinds?.length === 1 ? kinds[0] : undefined;
  const repositories = await api.repositories(kind);
  const hidden = repositories.items.length === 0 && (await api.anonymousWhereLoginIsWanted());
  // No repository at all, unfiltered, is what the catalog answers anonymous callers too: a login error.
  if (hidden && kind === undefined && !kinds) {
    throw new AuthError(
      `the catalog (repository list) of ${request.registry} needs a login: run \`wharf login ${request.registry}\` (${api.loginHint().split(":")[0]})`,
    );
  }
  const names = repositories.items.filter((name) => inNamespace(name, request.namespace));
  let truncated = repositories.truncated;
  let total = 0;
  const perRepository = await mapLimit(names, 4, async (name) => {
    // Later repositories are skipped once the bound is reached; their requests are not even sent.
    if (total >= MAX_ENTRIES) {
      truncated = true;
      return [];
    }
    const listed = await api.artifacts(name, kind);
    truncated ||= listed.truncated;
    const items = listed.items.filter((a) => ofKinds(a.kind, kinds));
    total += items.length;
    return items;
  });
  const artifacts = perRepository.flat().slice(0, MAX_ENTRIES).map(fromApi);
  const listing = apiListing(request, artifacts, kinds, truncated || total > MAX_ENTRIES);
  if (hidden) listing.notes.push(api.loginHint());
  return listing;
}

/** The first fallback source that has something for this registry, or undefined when none has. */
export async function tryFallbacks(
  client: Client,
  request: ListRequest,
  fallbacks: readonly FallbackSource[],
  notes: string[] = [],
): Promise<Listing | undefined> {
  const kinds = request.kind ? resolveKindFilter(request.kind, BUILTIN_KINDS) : null;
  const query: DiscoveryQuery = {
    registry: request.registry,
    ...(request.namespace ? { namespace: request.namespace } : {}),
    ...(kinds?.length === 1 ? { kind: kinds[0] } : {}),
  };
  for (const source of fallbacks) {
    const result = await source.list(client, query, notes);
    if (!result) continue;
    const artifacts = result.artifacts
      .filter((a) => inNamespace(a.repository, request.namespace) && ofKinds(a.kind, kinds))
      .map((a): ListedArtifact => ({
        size: null,
        platforms: [],
        accessories: {},
        signed: null,
        signatures: [],
        ...a,
      }));
    // The sources' own notes say where the list came from (and why a slow one).
    return {
      ...result,
      artifacts,
      kinds,
      notes: [`${request.registry} has no Wharf discovery API`, ...result.notes],
    };
  }
  return undefined;
}

function apiListing(
  request: ListRequest,
  artifacts: ListedArtifact[],
  kinds: string[] | null,
  truncated: boolean,
): Listing {
  const notes = truncated
    ? [`the listing stopped at ${MAX_ENTRIES} entries: narrow it with a namespace or --kind`]
    : [];
  return {
    source: "wharf-api",
    registry: request.registry,
    namespace: request.namespace ?? null,
    artifacts,
    kinds,
    truncated,
    notes,
  };
}

function fromApi(a: ApiArtifact): ListedArtifact {
  return {
    repository: a.repository,
    tags: a.tags,
    digest: a.digest,
    kind: a.kind,
    kindTitle: a.kindTitle,
    title: a.title,
    version: a.version,
    description: a.description,
    updated: a.pushedAt,
    size: a.size,
    platforms: a.platforms,
    accessories: a.accessories?.kinds ?? {},
    signed: a.signed,
    signatures: a.signatures,
    pullCount: a.pullCount,
    lastPulled: a.lastPulled,
  };
}

/** `team` holds `team` itself and everything below `team/`; no namespace holds everything. */
export function inNamespace(repository: string, namespace: string | undefined): boolean {
  return !namespace || repository === namespace || repository.startsWith(`${namespace}/`);
}

function ofKinds(kind: string | null, kinds: string[] | null): boolean {
  return kinds === null || (kind !== null && kinds.includes(kind));
}
