/** The Wharf client library: references, registries, OCI layouts, the local cache and artifacts. */
export * from "./errors.js";
export * from "./reference.js";
export { Client, type ClientOptions } from "./client.js";
export { RegistryClient, referrersTag, type Page, type PageOptions } from "./registry.js";
export { DockerConfig, dockerConfigDir, type Credentials, type StoredIn } from "./docker-config.js";
export { parseChallenges, type Challenge } from "./auth-challenge.js";
export { uploadBlob, type BlobSource, type UploadOptions } from "./upload.js";
export { bufferSource, fileSource, streamSource } from "./sources.js";
export {
  decodeManifest,
  EMPTY_CONFIG,
  MANIFEST_ACCEPT,
  type Descriptor,
  type ImageManifest,
  type IndexManifest,
  type ManifestData,
  type Platform,
} from "./manifest.js";
export { VerifyingStream, TruncatedError, verified, digestLike } from "./verify.js";
export type { RetryOptions } from "./retry.js";
export { RegistryTarget, type PushManifestOptions, type Target } from "./target.js";
export { guardVersionTag } from "./tag-guard.js";
export { watchTags, type WatchOptions } from "./watch.js";
export { LayoutTarget } from "./layout.js";
export { Cache, CorruptCacheError, type CachedReference } from "./cache.js";
export { CachingFetcher } from "./fetcher.js";
export { pushArtifact, type PushInput, type PushOptions, type PushResult } from "./push.js";
export { pullArtifact, type PullOptions, type PullResult } from "./pull.js";
export { copyArtifact, type CopyOptions, type CopyResult } from "./copy.js";
export { extractArchive } from "./extract.js";
export { findReferences, type FoundReference } from "./refs-file.js";
export { resolveTag, type ResolvedTag, type ResolveOptions } from "./resolve.js";
export type { ProgressSink, ProgressTask } from "./progress.js";
