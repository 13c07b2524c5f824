import { detectKind, type Detection, type DetectInput } from "./detect.js";
import { matchesPattern } from "./match.js";
import { asObject, asString, viewConfig, viewManifest, type ManifestView } from "./view.js";

export const MAX_FACT_LENGTH = 1024;
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
  format: "spdx" | "cyclonedx";
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
}

export interface FactsInput extends DetectInput {
  /** The detection already made for this artifact, to avoid making it twice. */
  detection?: Detection;
  /** For an index: its children's facts, which fill what the index's own annotations leave out. */
  children?: readonly ArtifactFacts[];
}

type Common = Pick<
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

const ANNOTATION_OF: Record<keyof Common, string> = {
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
};
const SBOM_PREDICATES: readonly [string, SbomFacts["format"]][] = [
  ["https://spdx.dev/Document*", "spdx"],
  ["https://cyclonedx.org/bom*", "cyclonedx"],
];
const PREDICATE_ANNOTATIONS = ["in-toto.io/predicate-type", "dev.sigstore.bundle.predicateType"];

/**
 * Extracts an artifact's facts. Never throws: a config of the wrong shape only loses the facts it would
 * have given, and every string is cut to MAX_FACT_LENGTH.
 */
export function extractFacts(input: FactsInput): ArtifactFacts {
  const detection = input.detection ?? detectKind(input);
  const view = viewManifest(input.manifest);
  const config = view.isIndex ? null : asObject(input.config);
  const kind = detection.kind.id;

  const common = {} as Common;
  for (const field of COMMON_FIELDS) common[field] = clip(view.annotations[ANNOTATION_OF[field]]);

  const chart = kind === "helm-chart" && config ? chartFacts(config) : null;
  const model = config ? modelFacts(kind, config) : null;
  fillFrom(common, {
    title: chart?.name ?? model?.name ?? null,
    description: chart?.description ?? modelDescription(kind, config),
    version: chart?.version ?? model?.version ?? null,
    ...modelProvenance(kind, config),
  });
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
    chart,
    model,
    sbom: sbomFacts(kind, view),
  };
}

function fillFrom(target: Common, source: Partial<Common>): void {
  for (const field of COMMON_FIELDS) {
    if (target[field] === null) target[field] = clip(source[field]);
  }
}

function chartFacts(config: Record<string, unknown>): ChartFacts {
  return {
    name: clip(config.name),
    version: clip(config.version),
    appVersion: clip(config.appVersion),
    description: clip(config.description),
  };
}

function modelFacts(kind: string, c: Record<string, unknown>): ModelFacts | null {
  const empty = {
    name: null,
    version: null,
    family: null,
    architecture: null,
    format: null,
    framework: null,
    paramSize: null,
    precision: null,
    quantization: null,
  };
  if (kind === "modelpack-model") {
    // modelpack/model-spec docs/config.md: descriptor{name, version, family, ...}, config{architecture, ...}
    const d = asObject(c.descriptor) ?? {};
    const m = asObject(c.config) ?? {};
    return {
      ...empty,
      packaging: "modelpack",
      name: clip(d.name ?? d.title),
      version: clip(d.version),
      family: clip(d.family),
      architecture: clip(m.architecture),
      format: clip(m.format),
      paramSize: clip(m.paramSize),
      precision: clip(m.precision),
      quantization: clip(m.quantization),
    };
  }
  if (kind === "kitops-modelkit") {
    // The config is the Kitfile as JSON: package{name, version, ...}, model{name, framework, version, ...}
    const p = asObject(c.package) ?? {};
    const m = asObject(c.model) ?? {};
    return {
      ...empty,
      packaging: "modelkit",
      name: clip(p.name ?? m.name),
      version: clip(p.version ?? m.version),
      framework: clip(m.framework),
      format: clip(m.format),
    };
  }
  if (kind === "ollama-model") {
    // ollama/ollama types/model ConfigV2: model_format, model_family, model_type (size), file_type (quantization)
    return {
      ...empty,
      packaging: "ollama",
      family: clip(c.model_family),
      format: clip(c.model_format),
      paramSize: clip(c.model_type),
      quantization: clip(c.file_type),
    };
  }
  return null;
}

function modelDescription(kind: string, c: Record<string, unknown> | null): string | null {
  if (!c) return null;
  if (kind === "modelpack-model") return clip(asObject(c.descriptor)?.description);
  if (kind === "kitops-modelkit")
    return clip(asObject(c.package)?.description ?? asObject(c.model)?.description);
  return null;
}

function modelProvenance(kind: string, c: Record<string, unknown> | null): Partial<Common> {
  if (!c) return {};
  if (kind === "modelpack-model") {
    const d = asObject(c.descriptor) ?? {};
    return {
      source: clip(d.sourceURL),
      revision: clip(d.revision),
      licenses: joined(d.licenses, " AND "),
      authors: joined(d.authors, ", "),
      created: clip(d.createdAt),
      url: clip(d.docURL),
    };
  }
  if (kind === "kitops-modelkit") {
    const p = asObject(c.package) ?? {};
    return { licenses: clip(p.license ?? asObject(c.model)?.license), authors: joined(p.authors, ", ") };
  }
  return {};
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

function sbomFacts(kind: string, view: ManifestView): SbomFacts | null {
  const byKind = SBOM_BY_KIND[kind];
  if (byKind) return { format: byKind };
  for (const map of [view.annotations, ...view.layers.map((l) => l.annotations)]) {
    for (const key of PREDICATE_ANNOTATIONS) {
      const predicate = map[key];
      if (!predicate) continue;
      const match = SBOM_PREDICATES.find(([pattern]) => matchesPattern(pattern, predicate));
      if (match) return { format: match[1] };
    }
  }
  return null;
}

function joined(value: unknown, separator: string): string | null {
  if (!Array.isArray(value)) return clip(value);
  const strings = value.slice(0, 32).filter((v): v is string => typeof v === "string" && v.length > 0);
  return strings.length > 0 ? clip(strings.join(separator)) : null;
}

/** A string fact, or null: bounded in length and stripped of control characters other than newline and tab. */
function clip(value: unknown): string | null {
  const s = asString(value);
  if (s === null) return null;
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const clean = s.slice(0, MAX_FACT_LENGTH * 2).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
  return clean.length === 0 ? null : clean.slice(0, MAX_FACT_LENGTH);
}
