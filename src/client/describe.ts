import {
  BUILTIN_KINDS,
  detectKind,
  extractFacts,
  renderActions,
  type Kind,
  type RenderedAction,
} from "../oci/kinds/index.js";
import { NotFoundError } from "./errors.js";
import type { Descriptor, ManifestData } from "./manifest.js";
import type { Target } from "./target.js";
import type { ApiArtifactDetail, ApiSigned } from "./discovery/api-shapes.js";

/** A config blob larger than this is not read: detection and facts work without it (as on the server). */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** The cosign tag convention's suffixes: signatures, attestations, SBOMs. */
const COSIGN_SUFFIXES = ["sig", "att", "sbom"] as const;

export interface AccessoryInfo {
  digest: string;
  kind: string;
  kindTitle: string;
  /** How it was found: as a referrer (subject) or by a `sha256-<hex>.<suffix>` tag. */
  tags: string[];
  artifactType: string | null;
}

/** What `wharf info` adds to the manifest: the artifact's kind, facts, accessories and actions. */
export interface KindInfo {
  /** Where it came from: the registry's discovery API, or worked out here from the manifest. */
  source: "wharf-api" | "manifest";
  kind: { id: string; title: string; icon: string; description: string };
  /** ArtifactFacts (src/oci/kinds/facts.ts), as the API serves them. */
  facts: Record<string, unknown>;
  /** Accessories by kind id. */
  accessories: Record<string, AccessoryInfo[]>;
  actions: RenderedAction[];
  /** Signatures by keys the registry trusts, when its discovery API says (Wharf). */
  signed?: ApiSigned;
}

export interface DescribeInput {
  target: Target;
  manifest: ManifestData;
  /** host[:port] for the actions, when the artifact is in a registry. */
  registry: string | null;
  repository: string | null;
  /** The tag the user addressed the artifact by, if any. */
  tag: string | null;
  /** Referrers already listed (undefined when not looked up). */
  referrers?: Descriptor[];
  /** Read the config blob (false when offline). */
  online: boolean;
  kinds?: readonly Kind[];
}

/**
 * An artifact's kind, facts, accessories and actions, decided here from its manifest and (bounded) config
 * blob as the registry would at push, for registries without Wharf's discovery API. Layers are never
 * read. The config is optional: any failure to read it only loses the facts it would have given.
 */
export async function describeKind(input: DescribeInput): Promise<KindInfo> {
  const kinds = input.kinds ?? BUILTIN_KINDS;
  const manifest = parse(input.manifest.bytes);
  const config = input.online ? await readConfig(input.target, manifest) : undefined;
  const detection = detectKind({ manifest, config, tag: input.tag, kinds });
  const facts = extractFacts({ manifest, config, tag: input.tag, kinds, detection });
  const accessories: Record<string, AccessoryInfo[]> = {};
  const add = (accessory: AccessoryInfo) => {
    const group = (accessories[accessory.kind] ??= []);
    const same = group.find((a) => a.digest === accessory.digest);
    if (same) same.tags = [...new Set([...same.tags, ...accessory.tags])];
    else group.push(accessory);
  };
  for (const r of input.referrers ?? []) {
    const found = detectKind({
      manifest: { mediaType: r.mediaType, artifactType: r.artifactType, annotations: r.annotations },
      kinds,
    });
    add({
      digest: r.digest,
      kind: found.kind.id,
      kindTitle: found.title,
      tags: [],
      artifactType: r.artifactType ?? null,
    });
  }
  // Looked for along with the referrers (not with --no-referrers, nor offline).
  if (input.online && input.referrers) for (const a of await cosignAccessories(input, kinds)) add(a);
  const kind = detection.kind;
  return {
    source: "manifest",
    kind: { id: kind.id, title: detection.title, icon: kind.icon, description: kind.description },
    facts: { ...facts },
    accessories,
    actions: input.registry
      ? renderActions(kind, {
          registry: input.registry,
          repository: input.repository ?? "",
          tag: input.tag,
          digest: input.manifest.digest,
          subject: detection.refersTo,
        })
      : [],
  };
}

/** The config blob as JSON, when the manifest has one that is small enough; else undefined. */
async function readConfig(target: Target, manifest: unknown): Promise<unknown> {
  const config = (manifest as { config?: Partial<Descriptor> } | null)?.config;
  if (!config || typeof config.digest !== "string" || typeof config.mediaType !== "string") return undefined;
  if (typeof config.size !== "number" || config.size <= 2 || config.size > MAX_CONFIG_BYTES) return undefined;
  try {
    const stream = await target.fetchBlob(config as Descriptor);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > MAX_CONFIG_BYTES) {
        stream.destroy();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** Signatures, attestations and SBOMs stored under `sha256-<hex>.sig|.att|.sbom` next to the artifact. */
async function cosignAccessories(input: DescribeInput, kinds: readonly Kind[]): Promise<AccessoryInfo[]> {
  const [algorithm, hex] = input.manifest.digest.split(":");
  const found: AccessoryInfo[] = [];
  for (const suffix of COSIGN_SUFFIXES) {
    const tag = `${algorithm}-${hex}.${suffix}`;
    let descriptor: Descriptor;
    try {
      descriptor = await input.target.resolve(tag);
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    const detection = detectKind({ manifest: { mediaType: descriptor.mediaType }, tag, kinds });
    found.push({
      digest: descriptor.digest,
      kind: detection.kind.id,
      kindTitle: detection.title,
      tags: [tag],
      artifactType: descriptor.artifactType ?? null,
    });
  }
  return found;
}

function parse(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8")) as unknown;
  } catch {
    return {};
  }
}

/** The discovery API's answer for one artifact, in the same shape. */
export function kindInfoFromApi(detail: ApiArtifactDetail): KindInfo {
  const accessories: Record<string, AccessoryInfo[]> = {};
  for (const [group, list] of Object.entries(detail.accessories)) {
    accessories[group] = list.map((a) => ({
      digest: a.digest,
      kind: a.kind,
      kindTitle: a.kindTitle ?? a.kind,
      tags: a.tags,
      artifactType: null,
    }));
  }
  return {
    source: "wharf-api",
    kind: detail.kind,
    facts: detail.facts,
    accessories,
    actions: detail.actions,
    ...(detail.signed !== null ? { signed: { signed: detail.signed, signatures: detail.signatures } } : {}),
  };
}
