/** Helpers for the manifest, listing and base spec tests: blobs, manifests and error bodies over real HTTP. */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json";
export const HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}

export interface ErrorEntry {
  code: string;
  message?: string;
  detail?: unknown;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

let counter = 0;
/** A repository name no other test in the process uses. */
export function uniqueRepo(prefix = "spec"): string {
  counter += 1;
  return `${prefix}/r${counter}-${randomBytes(3).toString("hex")}`;
}

/** Uploads a blob monolithically (POST with ?digest=) and returns its descriptor. */
export async function pushBlob(
  url: string,
  repo: string,
  data: Uint8Array | string,
  mediaType = "application/octet-stream",
): Promise<Descriptor> {
  const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data);
  const digest = sha256(bytes);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", "Content-Length": String(bytes.length) },
    body: bytes,
  });
  await res.arrayBuffer();
  assert.equal(res.status, 201, `blob upload of ${digest} to ${repo} answered ${res.status}`);
  return { mediaType, digest, size: bytes.length };
}

export interface PutResult {
  res: Response;
  status: number;
  /** The exact bytes sent. */
  body: Buffer;
  /** sha256 of the bytes sent. */
  digest: string;
  /** The error entries when the registry refused. */
  errors: ErrorEntry[];
}

/** PUTs a manifest (an object is serialized with JSON.stringify) under a tag or digest reference. */
export async function putManifest(
  url: string,
  repo: string,
  reference: string,
  manifest: unknown,
  contentType?: string,
  query = "",
): Promise<PutResult> {
  const body = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
  const type =
    contentType ??
    (typeof manifest === "object" && manifest !== null && "mediaType" in manifest
      ? String((manifest as { mediaType: unknown }).mediaType)
      : OCI_MANIFEST);
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}${query}`, {
    method: "PUT",
    headers: { "Content-Type": type },
    body: new Uint8Array(body),
  });
  let errors: ErrorEntry[] = [];
  if (res.status >= 400) errors = await readErrors(res);
  else await res.arrayBuffer();
  return { res, status: res.status, body, digest: sha256(body), errors };
}

/**
 * Reads an error response and checks it has the spec's shape: Content-Type application/json and
 * `{"errors":[{"code","message","detail"?}]}` with upper-case codes.
 */
export async function readErrors(res: Response): Promise<ErrorEntry[]> {
  const type = res.headers.get("content-type") ?? "";
  assert.match(type, /^application\/json\b/, `error Content-Type is ${type}`);
  const text = await res.text();
  const doc = JSON.parse(text) as { errors?: unknown };
  assert.ok(Array.isArray(doc.errors) && doc.errors.length > 0, `no errors array in ${text}`);
  for (const entry of doc.errors as unknown[]) {
    assert.ok(typeof entry === "object" && entry !== null, `error entry is not an object: ${text}`);
    const { code, message } = entry as ErrorEntry;
    assert.equal(typeof code, "string", `error code is not a string: ${text}`);
    assert.match(code, /^[A-Z_]+$/, `error code ${code} is not upper-case identifier`);
    if (message !== undefined) assert.equal(typeof message, "string");
  }
  return doc.errors as ErrorEntry[];
}

/** Asserts a response is an error with the given status and first error code. */
export async function expectError(res: Response, status: number, code: string): Promise<ErrorEntry[]> {
  const errors = await readErrors(res);
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${JSON.stringify(errors)}`);
  assert.equal(errors[0]?.code, code, `expected ${code}, got ${JSON.stringify(errors)}`);
  return errors;
}

export interface ImageParts {
  config: Descriptor;
  layers: Descriptor[];
}

/** Pushes a config and `layerCount` random layers (distinct content each call). */
export async function pushImageParts(
  url: string,
  repo: string,
  options: { configType?: string; layerType?: string; layerCount?: number; config?: string } = {},
): Promise<ImageParts> {
  const configData =
    options.config ??
    JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomBytes(8).toString("hex") });
  const config = await pushBlob(url, repo, configData, options.configType ?? OCI_CONFIG);
  const layers: Descriptor[] = [];
  for (let i = 0; i < (options.layerCount ?? 1); i++) {
    layers.push(await pushBlob(url, repo, randomBytes(64 + i), options.layerType ?? OCI_LAYER));
  }
  return { config, layers };
}

export function imageManifest(
  parts: ImageParts,
  extra: {
    mediaType?: string;
    artifactType?: string;
    subject?: Descriptor;
    annotations?: Record<string, string>;
  } = {},
): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: extra.mediaType ?? OCI_MANIFEST,
    config: parts.config,
    layers: parts.layers,
  };
  if (extra.artifactType) doc.artifactType = extra.artifactType;
  if (extra.subject) doc.subject = extra.subject;
  if (extra.annotations) doc.annotations = extra.annotations;
  return doc;
}

export function indexManifest(
  children: Descriptor[],
  extra: {
    mediaType?: string;
    artifactType?: string;
    subject?: Descriptor;
    annotations?: Record<string, string>;
  } = {},
): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: extra.mediaType ?? OCI_INDEX,
    manifests: children,
  };
  if (extra.artifactType) doc.artifactType = extra.artifactType;
  if (extra.subject) doc.subject = extra.subject;
  if (extra.annotations) doc.annotations = extra.annotations;
  return doc;
}

/** Pushes a fresh OCI image (config, one layer, manifest) and returns the manifest's descriptor. */
export async function pushImage(
  url: string,
  repo: string,
  reference?: string,
  extra: Parameters<typeof imageManifest>[1] = {},
): Promise<Descriptor & { body: Buffer }> {
  const parts = await pushImageParts(url, repo);
  const doc = imageManifest(parts, extra);
  const body = Buffer.from(JSON.stringify(doc));
  const digest = sha256(body);
  const put = await putManifest(url, repo, reference ?? digest, body, String(doc.mediaType));
  assert.equal(put.status, 201, `manifest PUT answered ${put.status} ${JSON.stringify(put.errors)}`);
  return { mediaType: String(doc.mediaType), digest, size: body.length, body };
}

/** GETs (or HEADs) a manifest and returns status, headers and raw bytes. */
export async function getManifest(
  url: string,
  repo: string,
  reference: string,
  method: "GET" | "HEAD" = "GET",
): Promise<{ res: Response; status: number; body: Buffer }> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    method,
    headers: { Accept: [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(", ") },
  });
  const body = Buffer.from(await res.arrayBuffer());
  return { res, status: res.status, body };
}

export async function listTags(
  url: string,
  repo: string,
  query = "",
): Promise<{ res: Response; tags: string[] }> {
  const res = await fetch(`${url}/v2/${repo}/tags/list${query}`);
  assert.equal(res.status, 200, `tags/list of ${repo} answered ${res.status}`);
  const doc = (await res.json()) as { name: string; tags: string[] | null };
  assert.equal(doc.name, repo);
  return { res, tags: doc.tags ?? [] };
}

/** The target of a `Link: <...>; rel="next"` header, or undefined. */
export function nextLink(res: Response): string | undefined {
  const link = res.headers.get("link");
  if (!link) return undefined;
  const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  assert.ok(m?.[1], `malformed Link header: ${link}`);
  return m[1];
}

/** Resolves a Link target (relative or absolute) against the registry URL. */
export function resolveLink(url: string, link: string): string {
  return new URL(link, url).toString();
}
