import { legacyTagsOf, type LegacyKind } from "./legacy-tags.js";
import { artifactTypeOf, decodeManifest, type Descriptor } from "./manifest.js";
import type { Target } from "./target.js";

export const DEFAULT_DISCOVER_DEPTH = 8;
export const DEFAULT_DISCOVER_NODES = 10_000;

/** One artifact in the tree, in `oras discover --format json`'s shape (plus where cosign's tags are). */
export interface DiscoveredNode {
  reference: string;
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  /** Found through a cosign legacy tag (`sha256-<hex>.sig` …), not as an OCI referrer. */
  legacy?: LegacyKind;
  tag?: string;
  manifests: DiscoveredNode[];
}

export interface DiscoverOptions {
  /** Only referrers of this type at the first level (as `oras discover --artifact-type`). */
  artifactType?: string;
  /** Levels below the root to follow (default DEFAULT_DISCOVER_DEPTH). */
  depth?: number;
  /** Stop after this many nodes below the root (default DEFAULT_DISCOVER_NODES). */
  maxNodes?: number;
}

export interface DiscoverResult {
  root: DiscoveredNode;
  /** Nodes below the root. */
  count: number;
  /** Set when maxNodes cut the walk short. */
  truncated: boolean;
}

/**
 * The tree of what refers to the artifact: its OCI referrers (the referrers API or the spec's tag
 * fallback, through the target), their referrers in turn (a signature of an SBOM), and cosign's legacy
 * tags beside each. Bounded by depth and node count; a digest already in the tree is not followed again.
 */
export async function discoverReferrers(
  target: Target,
  root: Descriptor,
  name: string,
  options: DiscoverOptions = {},
): Promise<DiscoverResult> {
  const maxDepth = options.depth ?? DEFAULT_DISCOVER_DEPTH;
  const maxNodes = options.maxNodes ?? DEFAULT_DISCOVER_NODES;
  const seen = new Set<string>([root.digest]);
  const top = node(name, root);
  let count = 0;
  let truncated = false;
  // Breadth first, so a cut keeps the levels nearest the root complete.
  let level: { node: DiscoveredNode; descriptor: Descriptor }[] = [{ node: top, descriptor: root }];
  for (let depth = 1; depth <= maxDepth && level.length > 0 && !truncated; depth++) {
    const next: typeof level = [];
    for (const parent of level) {
      const filter = depth === 1 ? options.artifactType : undefined;
      for (const child of await childrenOf(target, parent.descriptor, filter)) {
        if (seen.has(child.descriptor.digest)) continue;
        if (count >= maxNodes) {
          truncated = true;
          break;
        }
        seen.add(child.descriptor.digest);
        count++;
        const found = node(name, child.descriptor, child.legacy, child.tag);
        parent.node.manifests.push(found);
        next.push({ node: found, descriptor: child.descriptor });
      }
      if (truncated) break;
    }
    level = next;
  }
  return { root: top, count, truncated };
}

interface Child {
  descriptor: Descriptor;
  legacy?: LegacyKind;
  tag?: string;
}

async function childrenOf(target: Target, subject: Descriptor, artifactType?: string): Promise<Child[]> {
  const [referrers, legacy] = await Promise.all([
    target.referrers(subject, artifactType),
    legacyChildren(target, subject.digest),
  ]);
  const children: Child[] = referrers.map((descriptor) => ({ descriptor }));
  for (const child of legacy)
    if (!artifactType || child.descriptor.artifactType === artifactType) children.push(child);
  return children;
}

/** The `.sig`, `.att` and `.sbom` tags of `digest`, each described by its manifest. */
async function legacyChildren(target: Target, digest: string): Promise<Child[]> {
  return Promise.all(
    (await legacyTagsOf(target, digest)).map(async ({ tag, kind, descriptor }) => {
      const decoded = decodeManifest(await target.fetchManifest(descriptor));
      const artifactType = artifactTypeOf(decoded);
      const described: Descriptor = {
        mediaType: descriptor.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        ...(artifactType ? { artifactType } : {}),
        ...(decoded.doc.annotations ? { annotations: decoded.doc.annotations } : {}),
      };
      return { descriptor: described, legacy: kind, tag };
    }),
  );
}

function node(name: string, d: Descriptor, legacy?: LegacyKind, tag?: string): DiscoveredNode {
  return {
    reference: `${name}@${d.digest}`,
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
    ...(d.annotations && Object.keys(d.annotations).length > 0 ? { annotations: d.annotations } : {}),
    ...(legacy ? { legacy, tag } : {}),
    manifests: [],
  };
}

const EDGE = { empty: "    ", pipe: "│   ", item: "├── ", last: "└── " } as const;

/**
 * The tree as `oras discover` prints it: the root `name@digest`, then each referrer as an artifactType
 * branch (shared by referrers of one type) holding its digest, nested referrers under the digest.
 * Legacy cosign tags are branches of their own, named after the tag kind.
 */
export function renderTree(root: DiscoveredNode): string[] {
  interface Line {
    value: string;
    children: Line[];
  }
  const build = (n: DiscoveredNode): Line[] => {
    const groups: Line[] = [];
    for (const child of n.manifests) {
      const label = child.legacy ? `<${child.legacy} tag ${child.tag}>` : (child.artifactType ?? "<unknown>");
      let group = groups.find((g) => g.value === label);
      if (!group) groups.push((group = { value: label, children: [] }));
      group.children.push({ value: child.digest, children: build(child) });
    }
    return groups;
  };
  const out: string[] = [];
  const print = (line: Line, prefix: string, first: string) => {
    out.push(first + line.value);
    line.children.forEach((c, i) => {
      const last = i === line.children.length - 1;
      print(c, prefix + (last ? EDGE.empty : EDGE.pipe), prefix + (last ? EDGE.last : EDGE.item));
    });
  };
  print({ value: root.reference, children: build(root) }, "", "");
  return out;
}
