import { isValidDigest } from "../oci/digest.js";
import {
  compileTagPolicy,
  type CompiledTagPolicy,
  type TagChoice,
  describePolicy,
  policyToQuery,
  type TagPolicy,
} from "../oci/tag-policy/index.js";
import type { Cache } from "./cache.js";
import type { Client } from "./client.js";
import { WharfApi } from "./discovery/wharf-api.js";
import { NotFoundError, RegistryResponseError, UnreachableError, UsageError } from "./errors.js";
import { LayoutTarget } from "./layout.js";
import type { RegistryClient } from "./registry.js";
import { formatReference, repositoryOf, type Reference } from "./reference.js";

/** A tag a policy chose, and the manifest it points at. */
export interface ResolvedTag {
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  /** How many tags passed the policy's filters. */
  candidates: number;
  /**
   * Where the choice was made: by Wharf's resolve endpoint (`server`), here over the registry's tag list
   * (`client`), among the tags the cache knows while the registry is unreachable (`cache`), or among the
   * tags of an OCI layout (`layout`, with the layout's path as `registry` and "" as `repository`).
   */
  via: "server" | "client" | "cache" | "layout";
}

export interface ResolveOptions {
  /**
   * true: only Wharf's server-side endpoint (an error elsewhere); false: always page through the tag
   * list here; undefined (the default): the endpoint where the registry has one, else paging.
   */
  serverSide?: boolean;
  /** Tags per page when paging (default 1000). */
  pageSize?: number;
  /** When the registry is unreachable, choose among the tags of this repository the cache resolved before. */
  cache?: Cache;
}

const PAGE_SIZE = 1000;

/** Which registries of a client have Wharf's API: asked once per client and host. */
const apis = new WeakMap<Client, Map<string, Promise<WharfApi | undefined>>>();

/**
 * Wharf's API on `host`, or undefined when the registry is not Wharf. A failed question (the registry
 * unreachable) is not remembered: the next call asks again.
 */
export function wharfApi(client: Client, host: string): Promise<WharfApi | undefined> {
  let hosts = apis.get(client);
  if (!hosts) apis.set(client, (hosts = new Map()));
  let api = hosts.get(host);
  if (!api) {
    const asked = WharfApi.open(client, host);
    asked.catch(() => hosts.delete(host));
    hosts.set(host, (api = asked));
  }
  return api;
}

/**
 * The tag of `ref`'s repository that `policy` chooses, with Flux's semantics (see src/oci/tag-policy), and
 * the digest it points at. On Wharf one request resolves it server-side; on other registries the tag list
 * is paged through (n=1000, Link headers; also from registries that ignore n and last) and the choice
 * made here, then the winner is HEADed for its digest. The policy is compiled here first, so a bad one
 * fails the same way on every registry. A tag or digest in `ref` is refused: the policy picks the tag.
 */
export async function resolveTag(
  client: Client,
  ref: Reference,
  policy: TagPolicy,
  options: ResolveOptions = {},
): Promise<ResolvedTag> {
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(
      `${formatReference(ref)}: give a repository without a tag or digest when a policy picks the tag`,
    );
  }
  const compiled = compileTagPolicy(policy);
  if (ref.kind === "layout") return resolveInLayout(ref.path, compiled, policy);
  const where = repositoryOf(ref);
  const noMatch = (candidates = 0) =>
    new NotFoundError(
      `${where} has no tag matching ${describePolicy(policy)}` +
        (candidates > 0 ? ` (${candidates} candidates, none found)` : ""),
    );
  try {
    if (options.serverSide !== false) {
      const api = await wharfApi(client, ref.registry);
      const answer = api ? await api.resolve(ref.repository, policyToQuery(policy)) : undefined;
      if (answer === null) throw noMatch();
      if (answer) {
        if (!isValidDigest(answer.digest)) {
          throw new RegistryResponseError(`${ref.registry} resolved ${where} to a malformed digest`, 200);
        }
        return { registry: ref.registry, repository: ref.repository, ...answer, via: "server" };
      }
      if (options.serverSide) {
        throw new UsageError(`${ref.registry} has no server-side tag resolution (not a Wharf registry)`);
      }
    }
    const registry = client.registry(ref.registry);
    const chosen = await selectPaged(
      compiled,
      pages(registry, ref.repository, options.pageSize ?? PAGE_SIZE),
    );
    if (!chosen) throw noMatch();
    const descriptor = await registry.resolve(ref.repository, chosen.tag);
    return {
      registry: ref.registry,
      repository: ref.repository,
      tag: chosen.tag,
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      candidates: chosen.candidates,
      via: "client",
    };
  } catch (err) {
    if (!(err instanceof UnreachableError) || !options.cache) throw err;
    return resolveFromCache(options.cache, ref.registry, ref.repository, compiled, noMatch);
  }
}

/** Pages of tags read at most (a million tags at 1000 a page): a bound on a registry that never ends. */
const MAX_PAGES = 1000;

/**
 * The repository's tags a page at a time. Link headers are followed where the registry sends them (then a
 * page without one is the last); a full page from a registry that never sent one is continued with
 * `last`; a registry that ignores `n` (Distribution 2.x answers every tag at once) is read in that one
 * answer rather than cut into pages and asked again. A Link already followed, or a page with nothing
 * after `last`, ends it, and so does a bound on the pages read, so a misbehaving registry (cursors that
 * change while the tags repeat) cannot loop.
 */
async function* pages(registry: RegistryClient, repository: string, size: number): AsyncGenerator<string[]> {
  const followed = new Set<string>();
  let read = 0;
  /** Once a registry has sent a Link, a page without one is its last. */
  let linked = false;
  let page = await registry.tagsPage(repository, { n: size });
  let after: string | undefined;
  for (;;) {
    const cut = after;
    const tags = cut === undefined ? page.items : page.items.filter((t) => t > cut);
    if (tags.length === 0) return;
    yield tags;
    if (++read >= MAX_PAGES) {
      throw new RegistryResponseError(
        `${registry.host} sent more than ${MAX_PAGES} pages of tags for ${repository}: stopped reading`,
        200,
      );
    }
    if (page.next !== undefined) {
      linked = true;
      if (followed.has(page.next)) return;
      followed.add(page.next);
      after = undefined;
      page = await registry.tagsPage(repository, {}, page.next);
    } else if (!linked && page.items.length === size) {
      after = tags.reduce((a, b) => (b > a ? b : a));
      page = await registry.tagsPage(repository, { n: size, last: after });
    } else return;
  }
}

/**
 * The choice over every page, holding one page at a time: each page's winner competes with the best so
 * far, which is the choice over all since a policy picks the maximum of a total order (ties broken by the
 * tag). Candidates are counted per page.
 */
async function selectPaged(
  compiled: CompiledTagPolicy,
  source: AsyncIterable<string[]>,
): Promise<TagChoice | undefined> {
  let best: TagChoice | undefined;
  let candidates = 0;
  for await (const tags of source) {
    const choice = compiled.select(tags);
    if (!choice) continue;
    candidates += choice.candidates;
    best = best ? compiled.select([best.tag, choice.tag]) : choice;
  }
  return best && { ...best, candidates };
}

async function resolveInLayout(
  path: string,
  compiled: CompiledTagPolicy,
  policy: TagPolicy,
): Promise<ResolvedTag> {
  const layout = new LayoutTarget(path);
  const choice = compiled.select(await layout.tags());
  if (!choice) throw new NotFoundError(`oci:${path} has no tag matching ${describePolicy(policy)}`);
  const descriptor = await layout.resolve(choice.tag);
  return {
    registry: path,
    repository: "",
    tag: choice.tag,
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    candidates: choice.candidates,
    via: "layout",
  };
}

/** Offline: the choice among the tags of the repository this cache resolved before, as they resolved then. */
async function resolveFromCache(
  cache: Cache,
  registry: string,
  repository: string,
  compiled: CompiledTagPolicy,
  noMatch: () => Error,
): Promise<ResolvedTag> {
  const prefix = `${registry}/${repository}:`;
  const known = new Map<string, { digest: string; mediaType: string; resolvedAt: string }>();
  for (const entry of await cache.references()) {
    if (!entry.reference.startsWith(prefix)) continue;
    // `repo:tag` as pulled by tag, `repo:tag@digest` as pulled pinned (a policy's choice): the latest wins.
    const tag = entry.reference.slice(prefix.length).split("@", 1)[0] as string;
    const seen = known.get(tag);
    if (!seen || seen.resolvedAt < entry.resolvedAt) known.set(tag, entry);
  }
  const choice = compiled.select(known.keys());
  const entry = choice && known.get(choice.tag);
  if (!choice || !entry) throw noMatch();
  return {
    registry,
    repository,
    tag: choice.tag,
    digest: entry.digest,
    mediaType: entry.mediaType,
    candidates: choice.candidates,
    via: "cache",
  };
}
