import { mapLimit } from "./limit.js";
import { decodeManifest, type Descriptor, type ManifestData } from "./manifest.js";
import { platformChoice, selectPlatform, type PlatformChoice } from "./platform.js";
import { silentProgress, type ProgressSink } from "./progress.js";
import { legacyTagsOf } from "./legacy-tags.js";
import { guardVersionTag } from "./tag-guard.js";
import { RegistryTarget, type Target } from "./target.js";

export interface CopyOptions {
  /** Copy every manifest of an index; otherwise only the one for `platform` (when the index has platforms). */
  all?: boolean;
  platform?: string;
  /** Also copy signatures, SBOMs and other referrers, recursively, and cosign's legacy tags of each. */
  referrers?: boolean;
  progress?: ProgressSink;
  concurrency?: number;
  /** Move `tag` even when it is a version tag that already points at another digest (guardVersionTag). */
  force?: boolean;
}

export interface CopyResult {
  digest: string;
  mediaType: string;
  manifests: number;
  referrers: number;
  blobs: { copied: number; mounted: number; existing: number; bytes: number };
  /** When the source was a multi-platform index copied without `all`: the index and what was taken. */
  index?: PlatformChoice["index"];
  platform?: string;
  platforms?: string[];
}

interface Node {
  descriptor: Descriptor;
  data: ManifestData;
  /** The tag it goes up under: a cosign legacy tag (`sha256-<hex>.sig` …); the root's is `tag`. */
  tag?: string;
}

/**
 * Copies an artifact with everything under it (and optionally its referrers) from one target to another
 * — registry or OCI layout on either side — byte for byte, so every digest is preserved. Blobs already
 * at the destination are skipped, and within one registry they are mounted instead of transferred.
 */
export async function copyArtifact(
  source: Target,
  reference: string,
  destination: Target,
  tag: string | undefined,
  options: CopyOptions = {},
): Promise<CopyResult> {
  let root = await source.resolve(reference);
  const rootData = await source.fetchManifest(root);
  const decoded = decodeManifest(rootData);
  let choice: PlatformChoice | undefined;
  if (decoded.kind === "index" && !options.all) {
    const chosen = selectPlatform(decoded.doc.manifests, options.platform, source.label);
    if (chosen) {
      choice = platformChoice(root, chosen, decoded.doc.manifests);
      root = chosen;
    }
  }
  // Before the walk and the transfers, so a refused version tag costs nothing; pushManifest checks
  // again. Only the root is tagged: the other manifests (children, referrers) go up by digest.
  if (!options.force) await guardVersionTag(destination, tag, root.digest);

  // Walk the whole graph first: every blob is then transferred once, with bounded concurrency, and
  // manifests go up only after what they reference (children before parents, subjects before referrers).
  const nodes: Node[] = [];
  const blobs = new Map<string, Descriptor>();
  const visited = new Set<string>();
  const visit = async (descriptor: Descriptor, followIndex: boolean, nodeTag?: string): Promise<void> => {
    if (visited.has(descriptor.digest)) return;
    visited.add(descriptor.digest);
    const data = descriptor.digest === rootData.digest ? rootData : await source.fetchManifest(descriptor);
    const manifest = decodeManifest(data);
    if (manifest.kind === "index") {
      if (followIndex) for (const child of manifest.doc.manifests) await visit(child, true);
    } else {
      for (const blob of [manifest.doc.config, ...manifest.doc.layers]) {
        if (!blob.urls?.length) blobs.set(blob.digest, blob);
      }
    }
    nodes.push({ descriptor, data, ...(nodeTag ? { tag: nodeTag } : {}) });
  };
  await visit(root, true);
  let referrerCount = 0;
  if (options.referrers) {
    for (let i = 0; i < nodes.length; i++) {
      const subject = (nodes[i] as Node).descriptor;
      for (const referrer of await source.referrers(subject)) {
        if (visited.has(referrer.digest)) continue;
        referrerCount++;
        await visit(referrer, true);
      }
      // cosign ≤ v2's signatures, attestations and SBOMs have no subject: only their tag names them.
      for (const legacy of await legacyTagsOf(source, subject.digest)) {
        if (visited.has(legacy.descriptor.digest)) continue;
        referrerCount++;
        await visit(legacy.descriptor, true, legacy.tag);
      }
    }
  }

  const progress = options.progress ?? silentProgress;
  const stats = { copied: 0, mounted: 0, existing: 0, bytes: 0 };
  const sameRegistry =
    source instanceof RegistryTarget &&
    destination instanceof RegistryTarget &&
    source.ref.registry === destination.ref.registry &&
    source.repository !== destination.repository;
  await mapLimit([...blobs.values()], options.concurrency ?? 4, async (blob) => {
    const task = progress.task(
      blob.annotations?.["org.opencontainers.image.title"] ?? blob.digest.slice(0, 19),
      blob.size,
    );
    if (await destination.hasBlob(blob)) {
      stats.existing++;
      return task.done("exists");
    }
    if (
      sameRegistry &&
      (await (destination as RegistryTarget).mount(blob, (source as RegistryTarget).repository))
    ) {
      stats.mounted++;
      return task.done("mounted");
    }
    await destination.pushBlob(blob, source.blobSource(blob), (sent) => task.update(sent));
    stats.copied++;
    stats.bytes += blob.size;
    task.done();
  });
  for (const node of nodes) {
    const isRoot = node.descriptor.digest === root.digest;
    await destination.pushManifest(
      { ...node.data, mediaType: node.descriptor.mediaType || node.data.mediaType },
      isRoot ? tag : node.tag,
      { force: options.force },
    );
  }
  return {
    digest: root.digest,
    mediaType: root.mediaType,
    manifests: nodes.length,
    referrers: referrerCount,
    blobs: stats,
    ...(choice ?? {}),
  };
}
