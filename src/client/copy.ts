import { mapLimit } from "./limit.js";
import { decodeManifest, type Descriptor, type ManifestData } from "./manifest.js";
import { platformChoice, selectPlatform, type PlatformChoice } from "./platform.js";
import { silentProgress, type ProgressSink } from "./progress.js";
import { legacyTagsOf } from "./legacy-tags.js";
import { missingLayers, readSignatureImage, writeSignatureImage } from "./signing/signature-image.js";
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
  /** cosign `.sig`/`.att` tags that already existed at the destination and gained the source's layers. */
  merged?: number;
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
  let merged = 0;
  for (const node of nodes) {
    const isRoot = node.descriptor.digest === root.digest;
    if (node.tag && appendsToLegacyTag(node.tag)) {
      if (await mergeLegacyTag(destination, node)) merged++;
      continue;
    }
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
    ...(merged ? { merged } : {}),
    ...(choice ?? {}),
  };
}

/** cosign appends each signature (and attestation) as a layer of these tags; `.sbom` it replaces. */
function appendsToLegacyTag(tag: string): boolean {
  return tag.endsWith(".sig") || tag.endsWith(".att");
}

/**
 * Puts a source `.sig`/`.att` image under its tag at the destination without losing what is already
 * there: when the destination has none, the source's manifest unchanged (digest preserved); otherwise
 * the destination's layers followed by the source's that it lacks, as `wharf sign --format legacy`
 * appends — a new manifest only when something was added. True when one was. The layers' blobs are
 * already at the destination (copied with the graph).
 */
async function mergeLegacyTag(destination: Target, node: Node): Promise<boolean> {
  const tag = node.tag as string;
  const data = { ...node.data, mediaType: node.descriptor.mediaType || node.data.mediaType };
  const source = decodeManifest(node.data);
  // Not cosign's image (an index under the tag): nothing to append, copied as it is.
  if (source.kind !== "image") {
    await destination.pushManifest(data, tag, { force: true });
    return false;
  }
  const existing = await readSignatureImage(destination, tag);
  if (existing.digest === undefined) {
    await destination.pushManifest(data, tag, { force: true });
    return false;
  }
  if (existing.digest === node.descriptor.digest) return false;
  const missing = missingLayers(existing.layers, source.doc.layers);
  // Also by digest: anything that refers to the source's image still finds it.
  await destination.pushManifest(data);
  if (missing.length === 0) return false;
  await writeSignatureImage(destination, tag, [...existing.layers, ...missing]);
  return true;
}
