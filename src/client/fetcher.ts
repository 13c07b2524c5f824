import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { Cache, CorruptCacheError } from "./cache.js";
import type { Client } from "./client.js";
import { RegistryResponseError, TimeoutError, UnreachableError, WharfError, errorMessage } from "./errors.js";
import type { Descriptor, ManifestData } from "./manifest.js";
import { formatReference, type RegistryReference } from "./reference.js";
import { backoffDelay, isTransientNetworkError } from "./retry.js";
import { counted } from "./streams.js";
import { TruncatedError } from "./verify.js";

export interface Resolved {
  descriptor: Descriptor;
  /** True when the registry could not be asked and the cached resolution was used. */
  fromCache: boolean;
  /** When the cached resolution was made (fromCache only). */
  resolvedAt?: string;
  /** Why the registry's answer was not used (fromCache only), e.g. "… did not answer within 5s". */
  offlineReason?: string;
}

/**
 * How long to wait for a registry's answer to a tag when the cache has one: a registry that does not
 * answer should cost seconds, not minutes, before the cached resolution is used.
 */
export const CACHE_FALLBACK_MS = 5_000;

export interface FetcherOptions {
  /** Ignore cached content and resolutions: ask the registry and download again. */
  refresh?: boolean;
}

/**
 * Reads an artifact of one registry through the local cache. Digests are immutable, so cached content is
 * used whenever present (and verified); tags are asked of the registry each time, and their cached
 * resolution is used only when the registry cannot be reached.
 */
export class CachingFetcher {
  /** Digests downloaded by this fetcher (so a refresh downloads each only once). */
  private readonly fresh = new Set<string>();
  private readonly hits = new Set<string>();
  /** Cached blobs found corrupt, dropped and fetched again. */
  repaired = 0;

  constructor(
    private readonly client: Client,
    readonly cache: Cache,
    private readonly options: FetcherOptions = {},
  ) {}

  /** Manifests and blobs served from the cache rather than the network. */
  get cacheHits(): number {
    return [...this.hits].filter((d) => !this.fresh.has(d)).length;
  }

  get downloads(): number {
    return this.fresh.size;
  }

  async resolve(ref: RegistryReference): Promise<Resolved> {
    const key = formatReference(ref);
    const registry = this.client.registry(ref.registry);
    if (ref.digest && !this.options.refresh) {
      const entry = await this.cache.getReference(key);
      if (entry && (await this.cache.read(entry))) {
        return {
          descriptor: { mediaType: entry.mediaType, digest: entry.digest, size: entry.size },
          fromCache: false,
        };
      }
    }
    // With a cached resolution to fall back on, the registry gets a short budget of its own.
    const entry = this.options.refresh ? undefined : await this.cache.getReference(key);
    try {
      const descriptor = await registry.resolve(ref.repository, ref.digest ?? ref.tag ?? "latest", {
        timeoutMs: entry ? CACHE_FALLBACK_MS : undefined,
      });
      await this.cache.setReference(key, descriptor);
      return { descriptor, fromCache: false };
    } catch (err) {
      if (!isOffline(err) || this.options.refresh) throw err;
      if (!entry) {
        throw new UnreachableError(`${(err as Error).message}; ${key} is not in the cache either`, {
          cause: err,
        });
      }
      return {
        descriptor: { mediaType: entry.mediaType, digest: entry.digest, size: entry.size },
        fromCache: true,
        resolvedAt: entry.resolvedAt,
        offlineReason: err instanceof TimeoutError ? err.message : `${ref.registry} is unreachable`,
      };
    }
  }

  async manifest(ref: RegistryReference, descriptor: Descriptor): Promise<ManifestData> {
    if (!this.options.refresh || this.fresh.has(descriptor.digest)) {
      const bytes = await this.cache.read(descriptor);
      if (bytes) {
        this.hits.add(descriptor.digest);
        return { bytes, mediaType: descriptor.mediaType, digest: descriptor.digest };
      }
    }
    const data = await this.client.registry(ref.registry).getManifest(ref.repository, descriptor.digest);
    await this.cache.writeBytes(data.digest, data.bytes);
    this.fresh.add(descriptor.digest);
    return { ...data, mediaType: descriptor.mediaType || data.mediaType };
  }

  /**
   * Makes sure the blob is in the cache (downloading and verifying it if needed) and opens it. The stream
   * may still fail with CorruptCacheError if the file was damaged since: call again to fetch it anew.
   */
  async blob(
    ref: RegistryReference,
    descriptor: Descriptor,
    onProgress?: (bytes: number) => void,
  ): Promise<Readable> {
    const cached = await this.openCached(descriptor, onProgress);
    if (cached) return cached;
    await this.download(ref, descriptor, onProgress);
    const stream = await this.cache.open(descriptor);
    if (!stream)
      throw new CorruptCacheError(`blob ${descriptor.digest} vanished from the cache after download`);
    return stream;
  }

  /**
   * Makes sure the blob is in the cache and sound, reading it only when that is still unknown: a download
   * is verified as it is written, a copy cached earlier is read through verification (CorruptCacheError).
   */
  async ensure(
    ref: RegistryReference,
    descriptor: Descriptor,
    onProgress?: (bytes: number) => void,
  ): Promise<void> {
    if (this.fresh.has(descriptor.digest)) return;
    const cached = await this.openCached(descriptor, onProgress);
    if (cached)
      await finished(cached.resume()); // reading is the point: the stream verifies as it goes
    else await this.download(ref, descriptor, onProgress);
  }

  /** The cached copy (verified as it is read), unless --refresh asks for a new one not fetched yet. */
  private async openCached(
    descriptor: Descriptor,
    onProgress?: (bytes: number) => void,
  ): Promise<Readable | undefined> {
    if (this.options.refresh && !this.fresh.has(descriptor.digest)) return undefined;
    const stream = await this.cache.open(descriptor);
    if (!stream) return undefined;
    this.hits.add(descriptor.digest);
    onProgress?.(descriptor.size);
    return stream;
  }

  private async download(
    ref: RegistryReference,
    descriptor: Descriptor,
    onProgress?: (bytes: number) => void,
  ) {
    const registry = this.client.registry(ref.registry);
    const retry = this.client.retry;
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await registry.getBlob(ref.repository, descriptor);
        await this.cache.write(descriptor, counted(body, 0, onProgress));
        this.fresh.add(descriptor.digest);
        return;
      } catch (err) {
        const again =
          err instanceof TruncatedError || (!(err instanceof WharfError) && isTransientNetworkError(err));
        if (!again || attempt >= retry.retries) throw err;
        this.client.options.onRetry?.(`download of ${descriptor.digest}: ${errorMessage(err)}; retrying`);
        await registry.transport.pause(backoffDelay(retry, attempt));
      }
    }
  }
}

/** The registry is gone (or broken): what makes a cached tag resolution worth using. */
function isOffline(err: unknown): boolean {
  return err instanceof UnreachableError || (err instanceof RegistryResponseError && err.status >= 500);
}
