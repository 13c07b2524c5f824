import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { MediaType, isValidMediaType } from "../oci/media-types.js";
import { UsageError } from "./errors.js";
import { helmTag, HelmMediaType, readHelmChart } from "./helm.js";
import { mapLimit } from "./limit.js";
import { EMPTY_CONFIG, type Descriptor, type ManifestData } from "./manifest.js";
import { silentProgress, type ProgressSink } from "./progress.js";
import { bufferSource, fileSource } from "./sources.js";
import { packDirectory } from "./tar-dir.js";
import {
  FLUX_REPRODUCIBLE_CREATED,
  FluxAnnotation,
  FluxMediaType,
  fluxConfig,
  fluxManifest,
} from "./flux/artifact.js";
import { packFluxArtifact } from "./flux/tar.js";
import { guardVersionTag } from "./tag-guard.js";
import type { Target } from "./target.js";
import type { BlobSource } from "./upload.js";
import { digestLike } from "./verify.js";

/** Annotation keys shared with ORAS, so that each tool pulls what the other pushed. */
export const Annotation = {
  Title: "org.opencontainers.image.title",
  OrasContentDigest: "io.deis.oras.content.digest",
  OrasUnpack: "io.deis.oras.content.unpack",
} as const;

export const DEFAULT_ARTIFACT_TYPE = "application/vnd.unknown.artifact.v1";
export const DEFAULT_FILE_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";
export const DEFAULT_CONFIG_MEDIA_TYPE = "application/vnd.unknown.config.v1+json";

export interface PushInput {
  path: string;
  /** Layer media type for a file (directories are always tar+gzip). */
  mediaType?: string;
}

export interface PushOptions {
  /**
   * `flux`: exactly what `flux push artifact` makes of one directory (or file): Flux's config, one
   * Flux content layer, the OCI created/source/revision annotations (see src/client/flux).
   */
  format?: "flux";
  artifactType?: string;
  /** Manifest annotations. */
  annotations?: Record<string, string>;
  config?: { path: string; mediaType?: string };
  /**
   * The manifest this one refers to (OCI 1.1 `subject`). With a subject and no tag the push is by digest
   * only: referrers are found through their subject, and a default tag would overwrite another's.
   */
  subject?: Descriptor;
  /** Set false to push a .tgz chart as a plain file. */
  detectHelm?: boolean;
  progress?: ProgressSink;
  concurrency?: number;
  /** Move the tag even when it is a version tag that already points at another digest (guardVersionTag). */
  force?: boolean;
  /**
   * Called with everything about to be published, before anything is uploaded: a check that throws (a
   * failed gate, a kind's own validation) publishes nothing, not one blob.
   */
  beforePublish?: (plan: PublishPlan) => Promise<void>;
}

/** What a push is about to publish. */
export interface PublishPlan {
  /** Undefined when pushing by digest only. */
  tag: string | undefined;
  /** The manifest as it will be stored. */
  manifest: Record<string, unknown>;
  /** The config blob's content when it is small enough to have been read (a chart's, the empty one). */
  config: Buffer | undefined;
  inputs: readonly PushInput[];
  helm?: { name: string; version: string };
}

export interface PushResult {
  digest: string;
  mediaType: string;
  size: number;
  /** Undefined when pushed by digest only. */
  tag: string | undefined;
  artifactType?: string;
  layers: Descriptor[];
  helm?: { name: string; version: string };
}

interface PreparedBlob {
  descriptor: Descriptor;
  source: BlobSource;
}

/**
 * Pushes files and directories as one artifact: each file a layer named by its title annotation, each
 * directory one reproducible tar+gzip layer (ORAS's conventions). A packaged Helm chart pushed alone
 * becomes a chart Helm can install. Nothing in the manifest depends on time, so pushing the same content
 * twice gives the same digest.
 */
export async function pushArtifact(
  target: Target,
  tag: string | undefined,
  inputs: PushInput[],
  options: PushOptions = {},
): Promise<PushResult> {
  if (inputs.length === 0 && !options.config) throw new UsageError("nothing to push: name at least one file");
  const work = await mkdtemp(join(tmpdir(), "wharf-push-"));
  try {
    const { layers, config, configBytes, manifest, bytes, artifactType, helm } =
      options.format === "flux"
        ? await prepareFlux(inputs, work, options)
        : await prepareArtifact(inputs, work, options);
    const data: ManifestData = { bytes, mediaType: MediaType.OciManifest, digest: digestLike(bytes) };

    const finalTag = tag ?? (options.subject ? undefined : helm ? helmTag(helm.version) : "latest");
    // Before the gate and the uploads, so a refused version tag costs neither; pushManifest checks again.
    if (!options.force) await guardVersionTag(target, finalTag, data.digest);
    await options.beforePublish?.({
      tag: finalTag,
      manifest,
      config: configBytes,
      inputs,
      ...(helm ? { helm: { name: helm.name, version: helm.version } } : {}),
    });

    const progress = options.progress ?? silentProgress;
    await mapLimit([config, ...layers], options.concurrency ?? 4, async (blob) => {
      const label = blob.descriptor.annotations?.[Annotation.Title] ?? blob.descriptor.mediaType;
      const task = progress.task(label, blob.descriptor.size);
      if (await target.hasBlob(blob.descriptor)) return task.done("exists");
      await target.pushBlob(blob.descriptor, blob.source, (sent) => task.update(sent));
      task.done();
    });
    await target.pushManifest(data, finalTag, { force: options.force });
    return {
      digest: data.digest,
      mediaType: data.mediaType,
      size: bytes.length,
      tag: finalTag,
      ...(artifactType ? { artifactType } : {}),
      layers: layers.map((l) => l.descriptor),
      ...(helm ? { helm: { name: helm.name, version: helm.version } } : {}),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface PreparedArtifact {
  layers: PreparedBlob[];
  config: PreparedBlob;
  configBytes: Buffer | undefined;
  manifest: Record<string, unknown>;
  /** The manifest as it is stored (its digest is the artifact's). */
  bytes: Buffer;
  artifactType: string | undefined;
  helm: { name: string; version: string; config: Buffer } | undefined;
}

/** One directory (or file) as `flux push artifact` packs it; annotations over Flux's created time. */
async function prepareFlux(
  inputs: PushInput[],
  work: string,
  options: PushOptions,
): Promise<PreparedArtifact> {
  const input = inputs[0];
  if (inputs.length !== 1 || !input || input.mediaType)
    throw new UsageError("--format flux pushes one directory (or file), as flux push artifact does");
  if (options.config || options.artifactType || options.subject)
    throw new UsageError(
      "--format flux makes what flux push artifact makes: no --config, --artifact-type or --subject",
    );
  const out = join(work, "artifact.tgz");
  const packed = await packFluxArtifact(input.path, out);
  const layer: PreparedBlob = {
    descriptor: { mediaType: FluxMediaType.Content, digest: packed.digest, size: packed.size },
    source: fileSource(out),
  };
  const configBytes = fluxConfig(packed.tarDigest);
  const config = bytesBlob(configBytes, FluxMediaType.Config);
  const annotations = { [FluxAnnotation.Created]: FLUX_REPRODUCIBLE_CREATED, ...options.annotations };
  const bytes = fluxManifest(config.descriptor, layer.descriptor, annotations);
  const manifest = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  return { layers: [layer], config, configBytes, manifest, bytes, artifactType: undefined, helm: undefined };
}

/** Files and directories as ORAS lays them out (or a Helm chart as Helm does). */
async function prepareArtifact(
  inputs: PushInput[],
  work: string,
  options: PushOptions,
): Promise<PreparedArtifact> {
  const helm =
    options.detectHelm !== false &&
    inputs.length === 1 &&
    !options.config &&
    !options.artifactType &&
    !inputs[0]?.mediaType
      ? await readHelmChart((inputs[0] as PushInput).path)
      : undefined;

  const layers: PreparedBlob[] = [];
  const titles = new Set<string>();
  for (const input of inputs) {
    const layer = await prepareLayer(input, work, layers.length);
    const title = layer.descriptor.annotations?.[Annotation.Title] ?? "";
    if (titles.has(title)) throw new UsageError(`two inputs would both be named ${JSON.stringify(title)}`);
    titles.add(title);
    if (helm) layer.descriptor.mediaType = HelmMediaType.Chart;
    layers.push(layer);
  }

  let config: PreparedBlob;
  let configBytes: Buffer | undefined;
  if (helm) config = bytesBlob((configBytes = helm.config), HelmMediaType.Config);
  else if (options.config) {
    const mediaType = options.config.mediaType ?? DEFAULT_CONFIG_MEDIA_TYPE;
    checkMediaType(mediaType);
    const { digest, size } = await hashFile(options.config.path);
    config = { descriptor: { mediaType, digest, size }, source: fileSource(options.config.path) };
    configBytes = await readSmallFile(options.config.path, size);
  } else config = bytesBlob((configBytes = EMPTY_CONFIG.bytes), EMPTY_CONFIG.mediaType);

  const artifactType = helm
    ? undefined
    : (options.artifactType ?? (options.config ? undefined : DEFAULT_ARTIFACT_TYPE));
  if (artifactType) checkMediaType(artifactType);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    ...(artifactType ? { artifactType } : {}),
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
    ...(options.subject ? { subject: subjectDescriptor(options.subject) } : {}),
    ...(options.annotations && Object.keys(options.annotations).length > 0
      ? { annotations: sortedObject(options.annotations) }
      : {}),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { layers, config, configBytes, manifest, bytes, artifactType, helm };
}

async function prepareLayer(input: PushInput, work: string, index: number): Promise<PreparedBlob> {
  let info;
  try {
    info = await stat(input.path);
  } catch {
    throw new UsageError(`cannot read ${input.path}: no such file or directory`);
  }
  const title = basename(resolve(input.path));
  if (info.isDirectory()) {
    const out = join(work, `layer-${index}.tar.gz`);
    const packed = await packDirectory(resolve(input.path), out);
    return {
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: packed.digest,
        size: packed.size,
        annotations: {
          [Annotation.OrasContentDigest]: packed.tarDigest,
          [Annotation.OrasUnpack]: "true",
          [Annotation.Title]: title,
        },
      },
      source: fileSource(out),
    };
  }
  if (!info.isFile()) throw new UsageError(`cannot push ${input.path}: not a file or directory`);
  const mediaType = input.mediaType ?? DEFAULT_FILE_MEDIA_TYPE;
  checkMediaType(mediaType);
  const { digest, size } = await hashFile(input.path);
  return {
    descriptor: { mediaType, digest, size, annotations: { [Annotation.Title]: title } },
    source: fileSource(input.path),
  };
}

/** A config file small enough to judge the artifact by (the size the registry reads configs up to). */
async function readSmallFile(path: string, size: number): Promise<Buffer | undefined> {
  return size <= 256 * 1024 ? readFile(path).catch(() => undefined) : undefined;
}

function bytesBlob(bytes: Buffer, mediaType: string): PreparedBlob {
  return {
    descriptor: { mediaType, digest: digestLike(bytes), size: bytes.length },
    source: bufferSource(bytes),
  };
}

export async function hashFile(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch {
    throw new UsageError(`cannot read ${path}`);
  }
  return { digest: `sha256:${hash.digest("hex")}`, size };
}

/** A subject is named by media type, digest and size alone (annotations belong to the subject itself). */
function subjectDescriptor(subject: Descriptor): Descriptor {
  return { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
}

function checkMediaType(mediaType: string): void {
  if (!isValidMediaType(mediaType)) throw new UsageError(`invalid media type ${JSON.stringify(mediaType)}`);
}

function sortedObject(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
