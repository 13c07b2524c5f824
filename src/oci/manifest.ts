import { RegistryError } from "./errors.js";
import { isValidDigest } from "./digest.js";
import {
  IMAGE_MEDIA_TYPES,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  essenceOf,
  isValidMediaType,
} from "./media-types.js";

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

/** What the registry needs to know of a manifest to store, link and list it. */
export interface ManifestInfo {
  mediaType: string;
  /** artifactType, else config.mediaType for image manifests (as the referrers API reports it). */
  artifactType: string | null;
  subject: Descriptor | null;
  annotations: Record<string, string> | null;
  /** Config and layers that must exist as blobs in the repository. */
  blobs: Descriptor[];
  /** Child manifests of an index, which must exist in the repository. */
  manifests: Descriptor[];
}

type Json = Record<string, unknown>;

/**
 * Validates a manifest body against the media type it was sent with (or, when the Content-Type is not a
 * manifest type, the mediaType it declares) and extracts what it references.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ManifestInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    throw invalid("manifest is not valid JSON");
  }
  if (!isObject(doc)) throw invalid("manifest must be a JSON object");
  if (doc.schemaVersion !== 2) throw invalid("schemaVersion must be 2");

  const declared = optionalString(doc, "mediaType");
  const header = contentType ? essenceOf(contentType) : undefined;
  const mediaType = header && MANIFEST_MEDIA_TYPES.has(header) ? header : (declared ?? inferMediaType(doc));
  if (!mediaType || !MANIFEST_MEDIA_TYPES.has(mediaType)) {
    throw invalid(`unsupported manifest media type: ${mediaType ?? header ?? "none"}`);
  }
  if (declared !== undefined && declared !== mediaType) {
    throw invalid(`mediaType ${declared} does not match Content-Type ${mediaType}`);
  }

  const artifactType = optionalMediaType(doc, "artifactType");
  const subject = doc.subject === undefined ? null : descriptor(doc.subject, "subject");
  const annotations = stringMap(doc.annotations, "annotations");

  if (INDEX_MEDIA_TYPES.has(mediaType)) {
    // An index with an image's fields (or an image with an index's, below) would be read as one thing by
    // some clients and as the other by others (CVE-2021-41190): refused, as Distribution does.
    const imageField = ["config", "layers"].find((key) => isPresent(doc[key]));
    if (imageField) throw ambiguous(mediaType, imageField, "an image manifest");
    if (!Array.isArray(doc.manifests)) throw invalid("index must have a manifests array");
    const manifests = doc.manifests.map((d, i) => descriptor(d, `manifests[${i}]`));
    return { mediaType, artifactType: artifactType ?? null, subject, annotations, blobs: [], manifests };
  }
  if (!IMAGE_MEDIA_TYPES.has(mediaType)) throw invalid(`unsupported manifest media type: ${mediaType}`);
  if (isPresent(doc.manifests)) throw ambiguous(mediaType, "manifests", "an index");
  const config = descriptor(doc.config, "config");
  if (!Array.isArray(doc.layers)) throw invalid("manifest must have a layers array");
  const layers = doc.layers.map((d, i) => descriptor(d, `layers[${i}]`));
  return {
    mediaType,
    artifactType: artifactType ?? config.mediaType,
    subject,
    annotations,
    blobs: [config, ...layers.filter((layer) => !isForeignLayer(layer))],
    manifests: [],
  };
}

/** Layers that live elsewhere (Windows base layers): the registry does not hold them. */
function isForeignLayer(layer: Descriptor): boolean {
  return (layer.urls?.length ?? 0) > 0 && /nondistributable|foreign/.test(layer.mediaType);
}

function inferMediaType(doc: Json): string | undefined {
  if (Array.isArray(doc.manifests)) return undefined;
  if (isObject(doc.config)) {
    const configType = doc.config.mediaType;
    return configType === "application/vnd.docker.container.image.v1+json"
      ? "application/vnd.docker.distribution.manifest.v2+json"
      : "application/vnd.oci.image.manifest.v1+json";
  }
  return undefined;
}

function descriptor(value: unknown, field: string): Descriptor {
  if (!isObject(value)) throw invalid(`${field} must be a descriptor object`);
  const mediaType = value.mediaType;
  if (typeof mediaType !== "string" || !isValidMediaType(mediaType)) {
    throw invalid(`${field}.mediaType must be a valid media type`);
  }
  const digest = value.digest;
  if (typeof digest !== "string" || !isValidDigest(digest))
    throw invalid(`${field}.digest is not a valid digest`);
  const size = value.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${field}.size must be a non-negative integer`);
  }
  const result: Descriptor = { mediaType, digest, size };
  const artifactType = optionalMediaType(value, "artifactType", field);
  if (artifactType) result.artifactType = artifactType;
  const annotations = stringMap(value.annotations, `${field}.annotations`);
  if (annotations) result.annotations = annotations;
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === "string")) {
      throw invalid(`${field}.urls must be an array of strings`);
    }
    result.urls = value.urls as string[];
  }
  return result;
}

function optionalString(doc: Json, key: string): string | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(`${key} must be a string`);
  return value;
}

function optionalMediaType(doc: Json, key: string, parent?: string): string | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !isValidMediaType(value)) {
    throw invalid(`${parent ? `${parent}.` : ""}${key} must be a valid media type`);
  }
  return value;
}

function stringMap(value: unknown, field: string): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw invalid(`${field} must be a map of strings`);
  }
  return value as Record<string, string>;
}

/** Present with a value: Distribution's check treats an explicit `null` as absent. */
function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function ambiguous(mediaType: string, field: string, other: string): RegistryError {
  return invalid(
    `a manifest of type ${mediaType} must not have a "${field}" field, which belongs to ${other}: ` +
      "ambiguous manifests are refused (CVE-2021-41190)",
  );
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string): RegistryError {
  return new RegistryError("MANIFEST_INVALID", message);
}
