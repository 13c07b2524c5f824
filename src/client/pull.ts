import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CorruptCacheError } from "./cache.js";
import { UnsafeContentError, UsageError } from "./errors.js";
import { extractArchive } from "./extract.js";
import type { Resolved } from "./fetcher.js";
import { HelmMediaType } from "./helm.js";
import { mapLimit } from "./limit.js";
import { artifactTypeOf, decodeManifest, type Descriptor, type ManifestData } from "./manifest.js";
import { platformChoice, selectPlatform, type PlatformChoice } from "./platform.js";
import { silentProgress, type ProgressSink } from "./progress.js";
import { formatReference, type Reference } from "./reference.js";
import { Annotation } from "./push.js";
import { FluxMediaType } from "./flux/artifact.js";

/**
 * Where a pull reads from: a registry through the local cache (CachingFetcher), or an OCI layout
 * (LayoutSource). Every read is verified against its descriptor.
 */
export interface PullSource<R extends Reference> {
  resolve(ref: R): Promise<Resolved>;
  manifest(ref: R, descriptor: Descriptor): Promise<ManifestData>;
  /** Makes sure the blob is there and sound (may throw CorruptCacheError: then try once more). */
  ensure(ref: R, descriptor: Descriptor, onProgress?: (bytes: number) => void): Promise<void>;
  blob(ref: R, descriptor: Descriptor): Promise<Readable>;
  repaired: number;
  readonly cacheHits: number;
  readonly downloads: number;
}

export interface PullOptions {
  /** Directory to write into (created if missing). Undefined: only fill the cache. */
  outputDir?: string;
  /** os/arch[/variant] to pick from an index (default: this machine's). */
  platform?: string;
  progress?: ProgressSink;
  concurrency?: number;
}

export interface PullResult {
  reference: string;
  digest: string;
  mediaType: string;
  artifactType?: string;
  /** Paths written, relative to the output directory. */
  files: string[];
  /** Layers without a file name (such as container image layers): cached, not written. */
  skipped: number;
  /** The tag was resolved from the cache because the registry could not be reached. */
  offline: boolean;
  resolvedAt?: string;
  /** Why the registry was not used for the tag (offline only). */
  offlineReason?: string;
  cacheHits: number;
  downloads: number;
  /** Cached blobs found corrupt, dropped and fetched again. */
  repaired: number;
  /** When the reference named a multi-platform index: the index, and which platform was pulled. */
  index?: PlatformChoice["index"];
  platform?: string;
  platforms?: string[];
}

/**
 * Pulls an artifact through the cache into a directory: every layer with a title becomes that file, or
 * that directory when it is a tar marked for unpacking. Everything is written into a staging directory
 * first and moved into place only when all of it verified and extracted safely.
 */
export async function pullArtifact<R extends Reference>(
  fetcher: PullSource<R>,
  ref: R,
  options: PullOptions = {},
): Promise<PullResult> {
  const resolved = await fetcher.resolve(ref);
  let descriptor = resolved.descriptor;
  let data = await fetcher.manifest(ref, descriptor);
  let decoded = decodeManifest(data);
  let choice: PlatformChoice | undefined;
  if (decoded.kind === "index") {
    const chosen = selectPlatform(decoded.doc.manifests, options.platform, formatReference(ref));
    if (!chosen) {
      const list = decoded.doc.manifests.map((m) => m.artifactType ?? m.digest).join(", ");
      throw new UsageError(
        `${formatReference(ref)} is an index of several artifacts (${list}): pull one by digest`,
      );
    }
    choice = platformChoice(descriptor, chosen, decoded.doc.manifests);
    descriptor = chosen;
    data = await fetcher.manifest(ref, descriptor);
    decoded = decodeManifest(data);
    if (decoded.kind === "index")
      throw new UsageError(`${formatReference(ref)}: nested indexes are not supported`);
  }
  const manifest = decoded.doc;
  const progress = options.progress ?? silentProgress;
  const blobs = [manifest.config, ...manifest.layers].filter((d) => !d.urls?.length);
  const names = new Map<Descriptor, string>();
  for (const layer of manifest.layers) {
    const name = await layerName(layer, manifest.config, fetcher, ref);
    if (name === undefined) continue;
    if ([...names.values()].includes(name)) {
      throw new UnsafeContentError(
        `refusing to pull: two layers are both named ${name ? JSON.stringify(name) : "as the content of the directory"}`,
      );
    }
    names.set(layer, name);
  }

  // Fill the cache first (in parallel), reading every blob through verification: a cached entry found
  // damaged is dropped and fetched again. Writing files only starts once all of it is here and sound.
  await mapLimit(blobs, options.concurrency ?? 4, async (blob) => {
    const label = blob.annotations?.[Annotation.Title] ?? shortDigest(blob.digest);
    const task = progress.task(label, blob.size);
    for (let attempt = 0; ; attempt++) {
      try {
        await fetcher.ensure(ref, blob, (n) => task.update(n));
        break;
      } catch (err) {
        if (!(err instanceof CorruptCacheError) || attempt > 0) throw err;
        fetcher.repaired++;
      }
    }
    task.done();
  });

  const files = options.outputDir ? await writeLayers(fetcher, ref, names, options.outputDir) : [];
  return {
    reference: formatReference(ref),
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    ...(artifactTypeOf(decoded) ? { artifactType: artifactTypeOf(decoded) } : {}),
    files,
    skipped: manifest.layers.length - names.size,
    offline: resolved.fromCache,
    ...(resolved.resolvedAt ? { resolvedAt: resolved.resolvedAt } : {}),
    ...(resolved.offlineReason ? { offlineReason: resolved.offlineReason } : {}),
    cacheHits: fetcher.cacheHits,
    downloads: fetcher.downloads,
    repaired: fetcher.repaired,
    ...(choice ?? {}),
  };
}

async function writeLayers<R extends Reference>(
  fetcher: PullSource<R>,
  ref: R,
  names: Map<Descriptor, string>,
  outputDir: string,
): Promise<string[]> {
  const out = resolve(outputDir);
  const created = !(await exists(out));
  await mkdir(out, { recursive: true });
  const staging = await mkdtemp(join(out, ".wharf-pull-"));
  try {
    const written: string[] = [];
    for (const [layer, name] of names) {
      const target = join(staging, name);
      const what = `layer ${name || layer.mediaType} (${shortDigest(layer.digest)})`;
      if (name === FLUX_ROOT) {
        // A Flux artifact's content is the directory itself: extracted into the output directory.
        const before = new Set(await readdir(staging));
        await extractArchive(() => fetcher.blob(ref, layer), staging, what);
        for (const entry of (await readdir(staging)).sort()) if (!before.has(entry)) written.push(entry);
        continue;
      }
      if (layer.annotations?.[Annotation.OrasUnpack] === "true") {
        await extractArchive(() => fetcher.blob(ref, layer), staging, what);
      } else {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(await fetcher.blob(ref, layer), createWriteStream(target, { flags: "wx" }));
      }
      written.push(name);
    }
    // Everything verified and extracted: move it into place, replacing what the artifact names.
    for (const entry of await readdir(staging)) {
      await rm(join(out, entry), { recursive: true, force: true });
      await rename(join(staging, entry), join(out, entry));
    }
    await rmdir(staging);
    return written;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (created) await rm(out, { recursive: true, force: true });
    throw err;
  }
}

/** The file name a layer is written under, or undefined for layers that are not files. */
async function layerName<R extends Reference>(
  layer: Descriptor,
  config: Descriptor,
  fetcher: PullSource<R>,
  ref: R,
): Promise<string | undefined> {
  let name = layer.annotations?.[Annotation.Title];
  if (name === undefined && layer.mediaType === FluxMediaType.Content) return FLUX_ROOT;
  if (
    name === undefined &&
    layer.mediaType === HelmMediaType.Chart &&
    config.mediaType === HelmMediaType.Config
  ) {
    // Helm does not name its layer: the chart file is <name>-<version>.tgz. The config is a blob (read
    // through the cache and verified), not a manifest.
    const chunks: Buffer[] = [];
    for await (const chunk of await fetcher.blob(ref, config)) chunks.push(chunk as Buffer);
    const chart = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
      name?: unknown;
      version?: unknown;
    };
    if (typeof chart.name === "string" && typeof chart.version === "string")
      name = `${chart.name}-${chart.version}.tgz`;
  }
  if (name === undefined) return undefined;
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (name.startsWith("/") || parts.length === 0 || parts.includes("..") || name.includes("\0")) {
    throw new UnsafeContentError(
      `refusing to write layer named ${JSON.stringify(name)}: not a relative path inside the output directory`,
    );
  }
  return parts.join("/");
}

/** The name of a layer whose tar+gzip content is extracted into the output directory itself (Flux's). */
const FLUX_ROOT = "";

function shortDigest(digest: string): string {
  return digest.slice(0, 19);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
