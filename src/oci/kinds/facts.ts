import { detectKind, type Detection, type DetectInput } from "./detect.js";
import { matchesPattern } from "./match.js";
import { CONFIG_READERS, type ConfigFacts } from "./config-readers.js";
import { clip } from "./text.js";
import { asObject, viewConfig, viewManifest, type ManifestView } from "./view.js";

export { MAX_FACT_LENGTH } from "./text.js";

export const MAX_PLATFORMS = 64;

export interface ChartFacts {
  name: string | null;
  version: string | null;
  appVersion: string | null;
  description: string | null;
}

export interface ModelFacts {
  /** Which packaging the fields came from. */
  packaging: "modelpack" | "modelkit" | "ollama";
  name: string | null;
  version: string | null;
  family: string | null;
  architecture: string | null;
  /** Weights format, e.g. safetensors, gguf, pytorch. */
  format: string | null;
  framework: string | null;
  paramSize: string | null;
  precision: string | null;
  quantization: string | null;
}

export interface SbomFacts {
  format: "spdx" | "cyclonedx" | "syft";
}

/** What is known of an artifact from its manifest and config: extracted once, at push. */
export interface ArtifactFacts {
  kind: string;
  /** The kind's title, or one derived from an unknown media type. */
  kindTitle: string;
  accessory: boolean;
  refersTo: string | null;
  title: string | null;
  description: string | null;
  version: string | null;
  source: string | null;
  revision: string | null;
  licenses: string | null;
  authors: string | null;
  created: string | null;
  url: string | null;
  platforms: string[];
  /** Bytes of config and layers; for an index, of its children as far as their facts are given. */
  size: number;
  layerCount: number;
  chart: ChartFacts | null;
  model: ModelFacts | null;
  sbom: SbomFacts | null;
  /** For attestations and signed bundles: the in-toto predicate type they carry. */
  predicateType: string | null;
}

export interface FactsInput extends DetectInput {
  /** The detection already made for this artifact, to avoid making it twice. */
  detection?: Detection;
  /** For an index: its children's facts, which fill what the index's own annotations leave out. */
  children?: readonly ArtifactFacts[];
}

/** The facts every kind can have, from annotations or its config. */
export type CommonFacts = Pick<
  ArtifactFacts,
  "title" | "description" | "version" | "source" | "revision" | "licenses" | "authors" | "created" | "url"
>;
const COMMON_FIELDS = [
  "title",
  "description",
  "version",
  "source",
  "revision",
  "licenses",
  "authors",
  "created",
  "url",
] as const;

const ANNOTATION_OF: Record<keyof CommonFacts, string> = {
  title: "org.opencontainers.image.title",
  description: "org.opencontainers.image.description",
  version: "org.opencontainers.image.version",
  source: "org.opencontainers.image.source",
  revision: "org.opencontainers.image.revision",
  licenses: "org.opencontainers.image.licenses",
  authors: "org.opencontainers.image.authors",
  created: "org.opencontainers.image.created",
  url: "org.opencontainers.image.url",
};

/** SBOM formats by kind, and by the predicate type of an attestation that carries one. */
const SBOM_BY_KIND: Record<string, SbomFacts["format"]> = {
  "spdx-sbom": "spdx",
  "cyclonedx-sbom": "cyclonedx",
  "syft-sbom": "syft",
};
const SBOM_PREDICATES: readonly [string, SbomFacts["format"]][] = [
  ["https://spdx.dev/Document*", "spdx"],
  ["https://cyclonedx.org/bom*", "cyclonedx"],
  ["https://syft.dev/bom*", "syft"],
];
/** Where BuildKit, Sigstore bundles and cosign .att layers name their predicate type. */
const PREDICATE_ANNOTATIONS = [
  "in-toto.io/predicate-type",
  "dev.sigstore.bundle.predicateType",
  "predicateType",
];

/**
 * Extracts an artifact's facts. Never throws: a config of the wrong shape only loses the facts it would
 * have given, and every string is cut to MAX_FACT_LENGTH.
 */
export function extractFacts(input: FactsInput): ArtifactFacts {
  const detection = input.detection ?? detectKind(input);
  const view = viewManifest(input.manifest);
  const config = view.isIndex ? null : asObject(input.config);
  const kind = detection.kind.id;

  const common = {} as CommonFacts;
  for (const field of COMMON_FIELDS) common[field] = clip(view.annotations[ANNOTATION_OF[field]]);

  const reader = Object.hasOwn(CONFIG_READERS, kind) ? CONFIG_READERS[kind] : undefined;
  const fromConfig: ConfigFacts = config && reader ? reader(config) : {};
  fillFrom(common, fromConfig.common ?? {});
  const children = input.children ?? [];
  // The index's own annotations win; each child fills only what is still missing.
  for (const child of children) fillFrom(common, child);

  return {
    kind,
    kindTitle: detection.title,
    accessory: detection.accessory,
    refersTo: detection.refersTo,
    ...common,
    platforms: platformsOf(view, input, detection),
    ...sizeOf(view, children),
    chart: fromConfig.chart ?? null,
    model: fromConfig.model ?? null,
    ...predicateFacts(kind, view),
  };
}

function fillFrom(target: CommonFacts, source: Partial<CommonFacts>): void {
  for (const field of COMMON_FIELDS) {
    if (target[field] === null) target[field] = clip(source[field]);
  }
}

function platformsOf(view: ManifestView, input: FactsInput, detection: Detection): string[] {
  const found = new Set<string>();
  if (!view.isIndex) {
    const platform = viewConfig(input.config).platform;
    if (platform && !detection.kind.hiddenFromPlatforms) found.add(clip(platform)!);
    return [...found];
  }
  const kinds = input.kinds;
  for (const child of view.manifests) {
    if (found.size >= MAX_PLATFORMS) break;
    if (!child.platform || child.platform.startsWith("unknown/")) continue;
    // Judge the child by its descriptor alone: BuildKit marks attestations there.
    const childKind = detectKind({
      manifest: { mediaType: child.mediaType, artifactType: child.artifactType },
      parentAnnotations: child.annotations,
      kinds,
    }).kind;
    if (!childKind.hiddenFromPlatforms) found.add(clip(child.platform)!);
  }
  return [...found];
}

function sizeOf(
  view: ManifestView,
  children: readonly ArtifactFacts[],
): { size: number; layerCount: number } {
  if (view.isIndex) {
    if (children.length > 0) {
      return {
        size: children.reduce((sum, c) => sum + c.size, 0),
        layerCount: children.reduce((sum, c) => sum + c.layerCount, 0),
      };
    }
    return { size: view.manifests.reduce((sum, d) => sum + d.size, 0), layerCount: 0 };
  }
  const layers = view.layers.reduce((sum, d) => sum + d.size, 0);
  return { size: (view.config?.size ?? 0) + layers, layerCount: view.layers.length };
}

/** The predicate type an attestation carries, and the SBOM format of an SBOM or of a predicate that is one. */
function predicateFacts(
  kind: string,
  view: ManifestView,
): { sbom: SbomFacts | null; predicateType: string | null } {
  const predicateType = firstPredicate(view);
  const byKind = SBOM_BY_KIND[kind];
  if (byKind) return { sbom: { format: byKind }, predicateType };
  const match = predicateType
    ? SBOM_PREDICATES.find(([pattern]) => matchesPattern(pattern, predicateType))
    : null;
  return { sbom: match ? { format: match[1] } : null, predicateType };
}

function firstPredicate(view: ManifestView): string | null {
  for (const map of [view.annotations, ...view.layers.map((l) => l.annotations)]) {
    for (const key of PREDICATE_ANNOTATIONS) {
      const predicate = clip(map[key]);
      if (predicate) return predicate;
    }
  }
  return null;
}
