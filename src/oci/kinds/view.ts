/**
 * A tolerant reading of a parsed manifest, index and config blob: whatever the JSON holds, the rest of the
 * kinds code sees well-typed fields, and a wrong type only means a missing field. Never throws.
 */

export interface DescriptorView {
  mediaType: string | null;
  digest: string | null;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string>;
  platform: string | null;
}

export interface ManifestView {
  mediaType: string | null;
  isIndex: boolean;
  artifactType: string | null;
  config: DescriptorView | null;
  layers: DescriptorView[];
  manifests: DescriptorView[];
  annotations: Record<string, string>;
  subject: string | null;
}

export interface ConfigView {
  labels: Record<string, string>;
  platform: string | null;
  /** The parsed blob itself, for kinds whose facts live in their own config format. */
  raw: Record<string, unknown> | null;
}

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

export function viewManifest(doc: unknown): ManifestView {
  const m = asObject(doc) ?? {};
  const manifests = Array.isArray(m.manifests) ? m.manifests.map(viewDescriptor) : [];
  const declared = asString(m.mediaType);
  const isIndex = declared ? declared === OCI_INDEX || declared === DOCKER_LIST : Array.isArray(m.manifests);
  return {
    mediaType: declared ?? (isIndex ? OCI_INDEX : asObject(m.config) ? OCI_MANIFEST : null),
    isIndex,
    artifactType: asString(m.artifactType),
    config: asObject(m.config) ? viewDescriptor(m.config) : null,
    layers: Array.isArray(m.layers) ? m.layers.map(viewDescriptor) : [],
    manifests,
    annotations: stringMap(m.annotations),
    subject: asString(asObject(m.subject)?.digest),
  };
}

export function viewDescriptor(value: unknown): DescriptorView {
  const d = asObject(value) ?? {};
  const size = d.size;
  return {
    mediaType: asString(d.mediaType),
    digest: asString(d.digest),
    size: typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : 0,
    artifactType: asString(d.artifactType),
    annotations: stringMap(d.annotations),
    platform: platformOf(asObject(d.platform)),
  };
}

export function viewConfig(doc: unknown): ConfigView {
  const c = asObject(doc);
  if (!c) return { labels: {}, platform: null, raw: null };
  // OCI and Docker image configs keep labels in config.Labels; some builders wrote container_config only.
  const labels = stringMap(asObject(c.config)?.Labels ?? asObject(c.container_config)?.Labels);
  return { labels, platform: platformOf(c), raw: c };
}

/** `os/architecture[/variant]` from a platform object or an image config, or null without both. */
function platformOf(p: Record<string, unknown> | null): string | null {
  if (!p) return null;
  const os = asString(p.os);
  const architecture = asString(p.architecture);
  if (!os || !architecture) return null;
  const variant = asString(p.variant);
  return variant ? `${os}/${architecture}/${variant}` : `${os}/${architecture}`;
}

export function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

export function asString(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

function stringMap(value: unknown): Record<string, string> {
  const object = asObject(value);
  if (!object) return {};
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(object)) if (typeof entry === "string") result[key] = entry;
  return result;
}
