import { digestOf, isValidDigest } from "../digest.js";
import { WHARF_INDEX_MEDIA_TYPE } from "../kinds/index.js";
import { MediaType } from "../media-types.js";
import { isValidRepositoryName, isValidTag } from "../names.js";
import type { IndexDocument, IndexEntry } from "./types.js";

/**
 * Bounds on what is read: the index is written by anyone who can push to the namespace, so a reader
 * refuses an oversized layer or entry list before parsing or walking it.
 */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;
export const MAX_INDEX_ENTRIES = 20_000;
export const MAX_TAGS_PER_ENTRY = 256;
/** Title, version, description and kind are cut to this many characters when an entry is made. */
export const MAX_ENTRY_TEXT = 1024;

/** The repository holding a namespace's index (`team` → `team/index`; the top level → `index`). */
export const INDEX_REPOSITORY_NAME = "index";
export const INDEX_TAG = "latest";
/** The layer's file name, for clients that pull layers as files (oras pull). */
export const INDEX_FILE_NAME = "wharf-index.json";

export class IndexArtifactError extends Error {}

/** A blob to push: exact bytes and their descriptor. */
export interface IndexBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface BuiltIndex {
  manifest: IndexBlob;
  config: IndexBlob;
  layer: IndexBlob;
}

export function indexRepository(namespace: string): string {
  return namespace === "" ? INDEX_REPOSITORY_NAME : `${namespace}/${INDEX_REPOSITORY_NAME}`;
}

/** A repository's namespace: its parent path (`team/app` → `team`, `app` → ""). */
export function namespaceOf(repository: string): string {
  const slash = repository.lastIndexOf("/");
  return slash < 0 ? "" : repository.slice(0, slash);
}

/** Whether `repository` lies below `namespace` ("" holds everything). */
export function isBelow(repository: string, namespace: string): boolean {
  return namespace === "" || repository.startsWith(`${namespace}/`);
}

function blob(mediaType: string, bytes: Buffer): IndexBlob {
  return {
    mediaType,
    bytes,
    size: bytes.length,
    digest: digestOf(bytes),
  };
}

/** The artifact for a document: validated first, so a writer can never publish what readers refuse. */
export function buildIndexArtifact(doc: IndexDocument): BuiltIndex {
  const checked = validateDocument(doc);
  const layer = blob(WHARF_INDEX_MEDIA_TYPE, Buffer.from(`${JSON.stringify(checked, null, 1)}\n`));
  const config = blob(MediaType.OciEmpty, Buffer.from("{}"));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    artifactType: WHARF_INDEX_MEDIA_TYPE,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [
      {
        mediaType: layer.mediaType,
        digest: layer.digest,
        size: layer.size,
        annotations: { "org.opencontainers.image.title": INDEX_FILE_NAME },
      },
    ],
    annotations: {
      "org.opencontainers.image.title": `Wharf index of ${checked.namespace === "" ? "the registry" : checked.namespace}`,
      "org.opencontainers.image.description": `${checked.entries.length} artifact(s)`,
    },
  };
  return { manifest: blob(MediaType.OciManifest, Buffer.from(JSON.stringify(manifest))), config, layer };
}

/**
 * The index layer's descriptor from a manifest's bytes: refuses anything that is not Wharf's index
 * artifact (another artifact tagged `index:latest` is not ours to read or overwrite silently).
 */
export function indexLayerOf(manifestBytes: Buffer): { digest: string; size: number; mediaType: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(manifestBytes.toString("utf8"));
  } catch {
    throw new IndexArtifactError("the index manifest is not JSON");
  }
  const manifest = asRecord(doc);
  if (manifest.artifactType !== WHARF_INDEX_MEDIA_TYPE) {
    throw new IndexArtifactError(
      `not a Wharf index: its artifactType is ${JSON.stringify(manifest.artifactType ?? null)}, not ${WHARF_INDEX_MEDIA_TYPE}`,
    );
  }
  const layers = Array.isArray(manifest.layers) ? manifest.layers.map(asRecord) : [];
  const ours = layers.filter((l) => l.mediaType === WHARF_INDEX_MEDIA_TYPE);
  const layer = ours[0];
  if (ours.length !== 1 || !layer)
    throw new IndexArtifactError(`a Wharf index has exactly one ${WHARF_INDEX_MEDIA_TYPE} layer`);
  const { digest, size } = layer;
  if (typeof digest !== "string" || !isValidDigest(digest))
    throw new IndexArtifactError("the index layer's digest is invalid");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
    throw new IndexArtifactError("the index layer's size is invalid");
  if (size > MAX_INDEX_BYTES)
    throw new IndexArtifactError(
      `the index layer is ${size} bytes, more than the ${MAX_INDEX_BYTES} allowed`,
    );
  return { digest, size, mediaType: WHARF_INDEX_MEDIA_TYPE };
}

/** Parses and validates the layer's bytes; any flaw is an IndexArtifactError that says what is wrong. */
export function parseIndexDocument(bytes: Buffer): IndexDocument {
  if (bytes.length > MAX_INDEX_BYTES)
    throw new IndexArtifactError(
      `the index is ${bytes.length} bytes, more than the ${MAX_INDEX_BYTES} allowed`,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new IndexArtifactError("the index layer is not JSON");
  }
  return validateDocument(doc);
}

function validateDocument(value: unknown): IndexDocument {
  const doc = asRecord(value);
  if (doc.schemaVersion !== 1)
    throw new IndexArtifactError(
      `unsupported index schemaVersion ${JSON.stringify(doc.schemaVersion ?? null)}: this wharf reads 1`,
    );
  const namespace = doc.namespace;
  if (typeof namespace !== "string" || (namespace !== "" && !isValidRepositoryName(namespace)))
    throw new IndexArtifactError("the index's namespace is not a repository path");
  if (!Array.isArray(doc.entries)) throw new IndexArtifactError("the index has no entries list");
  if (doc.entries.length > MAX_INDEX_ENTRIES)
    throw new IndexArtifactError(
      `the index has ${doc.entries.length} entries, more than the ${MAX_INDEX_ENTRIES} allowed`,
    );
  const seen = new Set<string>();
  const entries = doc.entries.map((raw, i) => {
    const entry = validateEntry(raw, i, namespace);
    const key = `${entry.repository}@${entry.digest}`;
    if (seen.has(key)) throw new IndexArtifactError(`entry ${i}: ${key} is listed twice`);
    seen.add(key);
    return entry;
  });
  return { schemaVersion: 1, namespace, entries };
}

function validateEntry(raw: unknown, i: number, namespace: string): IndexEntry {
  const e = asRecord(raw);
  const fail = (what: string): never => {
    throw new IndexArtifactError(`entry ${i}: ${what}`);
  };
  const repository = e.repository;
  if (typeof repository !== "string" || !isValidRepositoryName(repository))
    fail("repository is not a repository name");
  if (!isBelow(repository as string, namespace))
    fail(`repository ${JSON.stringify(repository)} is not below the namespace`);
  if (typeof e.digest !== "string" || !isValidDigest(e.digest)) fail("digest is invalid");
  if (!Array.isArray(e.tags) || e.tags.length === 0 || e.tags.length > MAX_TAGS_PER_ENTRY)
    fail(`tags must be a list of 1 to ${MAX_TAGS_PER_ENTRY} tags`);
  const tags = e.tags as unknown[];
  if (!tags.every((t): t is string => typeof t === "string" && isValidTag(t))) fail("a tag is invalid");
  if (typeof e.kind !== "string" || e.kind === "" || e.kind.length > MAX_ENTRY_TEXT) fail("kind is missing");
  if (typeof e.updated !== "string" || Number.isNaN(Date.parse(e.updated))) fail("updated is not a time");
  return {
    repository: repository as string,
    tags: [...new Set(tags as string[])].sort(),
    digest: e.digest as string,
    kind: e.kind as string,
    title: optionalText(e.title, "title", fail),
    version: optionalText(e.version, "version", fail),
    description: optionalText(e.description, "description", fail),
    updated: e.updated as string,
  };
}

function optionalText(value: unknown, field: string, fail: (what: string) => never): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" || value.length > MAX_ENTRY_TEXT)
    return fail(`${field} must be a string of at most ${MAX_ENTRY_TEXT} characters`);
  return value;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
