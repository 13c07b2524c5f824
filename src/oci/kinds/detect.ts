import { BUILTIN_KINDS, GENERIC_KIND } from "./catalogue/index.js";
import { deriveTitle } from "./derive.js";
import {
  anyMediaTypeMatches,
  matchesEntries,
  matchesMediaType,
  matchesPattern,
  mediaTypeKey,
} from "./match.js";
import type { Kind, KindRules } from "./types.js";
import { viewConfig, viewManifest, type ConfigView, type ManifestView } from "./view.js";

export interface DetectInput {
  /** The parsed manifest or index JSON. */
  manifest: unknown;
  /** The parsed config blob, when the caller read it (bounded in size); detection works without it. */
  config?: unknown;
  /** The tag the artifact was pushed to or addressed by. */
  tag?: string | null;
  /** Annotations of the descriptor this manifest was reached through in a parent index. */
  parentAnnotations?: Record<string, string>;
  /** The catalogue to detect against; the built-in one by default. */
  kinds?: readonly Kind[];
}

/** Which rule decided the kind, in the order they are tried. */
export type DetectionStage =
  | "artifactType"
  | "configMediaType"
  | "layerMediaType"
  | "annotation"
  | "config"
  | "tag"
  | "manifestMediaType"
  | "derived"
  | "generic";

export interface Detection {
  kind: Kind;
  /** The kind's title, or for an unknown type the title derived from its media type name. */
  title: string;
  stage: DetectionStage;
  /** The media type an unknown artifact's title was derived from. */
  derivedFrom: string | null;
  /** Digest of the artifact this one refers to (subject, cosign tag, BuildKit reference), if any. */
  refersTo: string | null;
  /** Listed under the artifact it refers to rather than on its own. */
  accessory: boolean;
}

/** cosign's tag convention: `sha256-<hex>.sig` (or .att, .sbom) refers to `sha256:<hex>`. */
export const COSIGN_TAG = /^(sha256|sha512)-([0-9a-f]{64}|[0-9a-f]{128})\.([a-z]+)$/;
/** BuildKit names the image an attestation manifest is about in the index's descriptor. */
const BUILDKIT_REFERENCE = "vnd.docker.reference.digest";

interface Evidence {
  view: ManifestView;
  config: ConfigView;
  layerTypes: Set<string>;
  annotationMaps: Record<string, string>[];
  /** The digest and suffix a cosign-convention tag names. */
  tagSubject: string | null;
  tagSuffix: string | null;
}

type Stage = Exclude<DetectionStage, "derived" | "generic" | "manifestMediaType">;

/** One test per stage, each over evidence gathered once: detection stays linear in the manifest's size. */
const STAGES: readonly [Stage, (rules: KindRules, e: Evidence) => boolean][] = [
  ["artifactType", (r, e) => matchesMediaType(r.artifactTypes, e.view.artifactType)],
  ["configMediaType", (r, e) => matchesMediaType(r.configMediaTypes, e.view.config?.mediaType ?? null)],
  ["layerMediaType", (r, e) => anyMediaTypeMatches(r.layerMediaTypes, e.layerTypes)],
  ["annotation", (r, e) => matchesEntries(r.annotations, e.annotationMaps)],
  [
    "config",
    (r, e) =>
      matchesEntries(r.configLabels, [e.config.labels]) ||
      (e.config.platform !== null && (r.platforms ?? []).some((p) => matchesPattern(p, e.config.platform!))),
  ],
  ["tag", (r, e) => e.tagSuffix !== null && (r.tagSuffixes ?? []).includes(e.tagSuffix)],
];

/**
 * Decides an artifact's kind from its manifest alone (plus, optionally, its config blob and tag): in order,
 * artifactType, config.mediaType, layer media types, annotations, config labels and platform, the cosign
 * tag convention, then the plain container formats. Anything else is accepted and titled from its media
 * type name, or called a generic artifact. Never throws.
 */
export function detectKind(input: DetectInput): Detection {
  const kinds = input.kinds ?? BUILTIN_KINDS;
  const evidence = gather(input);
  const { view } = evidence;
  const generic = kinds.find((k) => k.id === GENERIC_KIND.id) ?? GENERIC_KIND;
  const refersTo =
    view.subject ?? evidence.tagSubject ?? input.parentAnnotations?.[BUILDKIT_REFERENCE] ?? null;
  const result = (
    kind: Kind,
    stage: DetectionStage,
    title = kind.title,
    derivedFrom: string | null = null,
  ) => ({
    kind,
    title,
    stage,
    derivedFrom,
    refersTo,
    accessory: refersTo !== null && (kind.accessory || view.subject !== null),
  });

  for (const [stage, test] of STAGES) {
    for (const kind of kinds) if (test(kind.detect, evidence)) return result(kind, stage);
  }
  // A declared artifactType that no kind knows says what the artifact is better than its container format.
  const declared = view.artifactType ? deriveTitle(view.artifactType) : null;
  if (declared) return result(generic, "derived", declared, view.artifactType);
  for (const kind of kinds) {
    if (isContainerMatch(kind.detect, view)) return result(kind, "manifestMediaType");
  }
  for (const mediaType of candidateTypes(view)) {
    const title = deriveTitle(mediaType);
    if (title) return result(generic, "derived", title, mediaType);
  }
  return result(generic, "generic");
}

function gather(input: DetectInput): Evidence {
  const view = viewManifest(input.manifest);
  const layerTypes = new Set<string>();
  const annotationMaps = [view.annotations];
  if (input.parentAnnotations) annotationMaps.push(input.parentAnnotations);
  // An index's children are other artifacts: their annotations describe them, not the index.
  if (!view.isIndex) {
    for (const layer of view.layers) {
      if (layer.mediaType) layerTypes.add(mediaTypeKey(layer.mediaType));
      if (Object.keys(layer.annotations).length > 0) annotationMaps.push(layer.annotations);
    }
  }
  const tag = typeof input.tag === "string" ? COSIGN_TAG.exec(input.tag) : null;
  return {
    view,
    config: viewConfig(view.isIndex ? undefined : input.config),
    layerTypes,
    annotationMaps,
    tagSubject: tag ? `${tag[1]}:${tag[2]}` : null,
    tagSuffix: tag ? (tag[3] ?? null) : null,
  };
}

/** The container kinds' rule: the manifest's media type, and the config's when the kind names one. */
function isContainerMatch(rules: KindRules, view: ManifestView): boolean {
  const fallback = rules.fallback;
  if (!fallback || !matchesMediaType(fallback.manifestMediaTypes, view.mediaType)) return false;
  if (view.isIndex || !fallback.configMediaTypes) return true;
  return matchesMediaType(fallback.configMediaTypes, view.config?.mediaType ?? null);
}

/** Media types an unknown artifact could be named after: its config's, then its layers'. */
function* candidateTypes(view: ManifestView): Generator<string> {
  if (view.config?.mediaType) yield view.config.mediaType;
  for (const layer of view.layers) if (layer.mediaType) yield layer.mediaType;
}
