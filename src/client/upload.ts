import type { Readable } from "node:stream";
import { RegistryResponseError, WharfError, errorMessage } from "./errors.js";
import { discard, header } from "./http.js";
import type { Descriptor } from "./manifest.js";
import {
  backoffDelay,
  DEFAULT_RETRY,
  isRetryableStatus,
  isTransientNetworkError,
  type RetryOptions,
} from "./retry.js";
import { responseError, type Transport } from "./transport.js";
import { counted } from "./streams.js";

/** Where a blob's bytes come from; `open` is called again for each attempt (and each chunk). */
export interface BlobSource {
  /** Opens the whole content, or bytes start..end inclusive when the source supports ranges. */
  open(range?: { start: number; end: number }): Promise<Readable>;
  /** Whether `open` honours ranges (local files do; a registry stream may not). */
  ranged: boolean;
}

export interface UploadOptions {
  /** Blobs larger than this go up in chunks of `chunkSize` (when the source supports ranges). */
  chunkThreshold?: number;
  chunkSize?: number;
  retry?: RetryOptions;
  /** Hears about retried uploads (verbose output, a terminal). */
  onRetry?: (message: string) => void;
  /** Bytes sent so far in this attempt; reset to 0 when an attempt starts over. */
  onProgress?: (sent: number) => void;
}

export const DEFAULT_CHUNK_THRESHOLD = 256 * 1024 * 1024;
export const DEFAULT_CHUNK_SIZE = 32 * 1024 * 1024;

/**
 * Uploads a blob: monolithic (POST, then one PUT with the content) or chunked (PATCH per chunk with
 * Content-Range, then PUT). A failed attempt restarts with a new session: a half-sent body leaves the
 * old one in an unknown state.
 */
export async function uploadBlob(
  transport: Transport,
  repository: string,
  descriptor: Descriptor,
  source: BlobSource,
  options: UploadOptions = {},
): Promise<void> {
  const retry = options.retry ?? DEFAULT_RETRY;
  const chunked =
    source.ranged && options.chunkSize !== undefined
      ? descriptor.size > 0
      : source.ranged && descriptor.size > (options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD);
  for (let attempt = 0; ; attempt++) {
    options.onProgress?.(0);
    try {
      await (chunked
        ? uploadChunked(transport, repository, descriptor, source, options)
        : uploadMonolithic(transport, repository, descriptor, source, options));
      return;
    } catch (err) {
      const status = err instanceof RegistryResponseError ? err.status : undefined;
      const transient = status !== undefined ? isRetryableStatus(status) : isTransientNetworkError(err);
      if (attempt >= retry.retries || !transient) throw err;
      options.onRetry?.(
        `upload of ${descriptor.digest} to ${transport.host}: ${errorMessage(err)}; retrying`,
      );
      await transport.pause(backoffDelay(retry, attempt));
    }
  }
}

async function startSession(
  transport: Transport,
  repository: string,
): Promise<{ location: string; minChunk: number }> {
  const res = await transport.request({
    method: "POST",
    path: `/v2/${repository}/blobs/uploads/`,
    scopes: [`repository:${repository}:pull,push`],
  });
  if (res.status !== 202) throw await responseError(res, `upload to ${repository} on ${transport.host}`);
  discard(res);
  const location = header(res, "location");
  if (!location) throw new WharfError(`${transport.host} started an upload without a Location`);
  return {
    location: new URL(location, res.url).toString(),
    minChunk: Number(header(res, "oci-chunk-min-length") ?? "0"),
  };
}

async function uploadMonolithic(
  transport: Transport,
  repository: string,
  descriptor: Descriptor,
  source: BlobSource,
  options: UploadOptions,
): Promise<void> {
  const { location } = await startSession(transport, repository);
  const res = await transport.request({
    method: "PUT",
    path: location,
    query: { digest: descriptor.digest },
    headers: { "content-type": "application/octet-stream", "content-length": String(descriptor.size) },
    body: async () => counted(await source.open(), 0, options.onProgress),
    scopes: [`repository:${repository}:pull,push`],
    retry: false,
  });
  await expectCreated(res, transport, repository, descriptor);
}

async function uploadChunked(
  transport: Transport,
  repository: string,
  descriptor: Descriptor,
  source: BlobSource,
  options: UploadOptions,
): Promise<void> {
  const session = await startSession(transport, repository);
  let location = session.location;
  const minChunk = session.minChunk;
  const chunkSize = Math.max(options.chunkSize ?? DEFAULT_CHUNK_SIZE, minChunk);
  const scopes = [`repository:${repository}:pull,push`];
  for (let start = 0; start < descriptor.size; start += chunkSize) {
    const end = Math.min(start + chunkSize, descriptor.size) - 1;
    const res = await transport.request({
      method: "PATCH",
      path: location,
      headers: {
        "content-type": "application/octet-stream",
        "content-range": `${start}-${end}`,
        "content-length": String(end - start + 1),
      },
      body: async () => counted(await source.open({ start, end }), start, options.onProgress),
      scopes,
      retry: false,
    });
    if (res.status !== 202) {
      throw await responseError(res, `chunk ${start}-${end} of ${descriptor.digest} to ${transport.host}`);
    }
    discard(res);
    const next = header(res, "location");
    if (next) location = new URL(next, res.url).toString();
  }
  const res = await transport.request({
    method: "PUT",
    path: location,
    query: { digest: descriptor.digest },
    scopes,
    retry: false,
  });
  await expectCreated(res, transport, repository, descriptor);
}

async function expectCreated(
  res: Awaited<ReturnType<Transport["request"]>>,
  transport: Transport,
  repository: string,
  descriptor: Descriptor,
): Promise<void> {
  if (res.status !== 201 && res.status !== 204) {
    throw await responseError(res, `upload of ${descriptor.digest} to ${repository} on ${transport.host}`);
  }
  discard(res);
  const stored = header(res, "docker-content-digest");
  if (stored && stored !== descriptor.digest) {
    throw new WharfError(`${transport.host} stored ${descriptor.digest} as ${stored}`);
  }
}
