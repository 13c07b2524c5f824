/** Helpers for the discovery API tests: real pushes of hand-built artifacts and JSON reads of /api/v1/. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { OCI_EMPTY, pushBlob, putManifest, sha256 } from "../spec/manifest-support.js";
// The API's answers as the server declares them: tests read the same shapes clients get.
export type { ArtifactSummary, RepositoryView, SearchResult } from "../../src/registry/discovery-views.js";

export { sha256 };

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
/** Layers are pushed with at most this many bytes (the fixtures describe models of gigabytes). */
const MAX_LAYER_BYTES = 2048;

type Json = Record<string, unknown>;

export interface Pushed {
  digest: string;
  size: number;
  mediaType: string;
  body: Buffer;
}

/**
 * Pushes `manifest` after replacing every descriptor it holds by real content in `repo`: the config by
 * `config` (JSON) or an empty object, layers by random bytes, an index's children by small manifests of
 * their media type. Annotations, platforms and artifact types are kept. The subject is kept as given.
 */
export async function pushShaped(
  url: string,
  repo: string,
  reference: string | null,
  manifest: unknown,
  config?: unknown,
): Promise<Pushed> {
  const doc = structuredClone(manifest) as Json;
  const mediaType = typeof doc.mediaType === "string" ? doc.mediaType : OCI_MANIFEST;
  if (doc.config && typeof doc.config === "object") {
    const c = doc.config as Json;
    const type = String(c.mediaType);
    const bytes = config !== undefined ? JSON.stringify(config) : /json/.test(type) ? "{}" : randomBytes(64);
    const pushed = await pushBlob(url, repo, bytes, type);
    doc.config = { ...c, digest: pushed.digest, size: pushed.size };
  }
  if (Array.isArray(doc.layers)) {
    const layers: Json[] = [];
    for (const layer of doc.layers as Json[]) {
      const size = Math.min(Number(layer.size) || 64, MAX_LAYER_BYTES);
      const pushed = await pushBlob(url, repo, randomBytes(size), String(layer.mediaType));
      layers.push({ ...layer, digest: pushed.digest, size: pushed.size });
    }
    doc.layers = layers;
  }
  if (Array.isArray(doc.manifests)) {
    const children: Json[] = [];
    for (const child of doc.manifests as Json[]) {
      const pushed = await pushChild(url, repo, child);
      children.push({ ...child, digest: pushed.digest, size: pushed.size });
    }
    doc.manifests = children;
  }
  const body = Buffer.from(JSON.stringify(doc));
  const digest = sha256(body);
  const put = await putManifest(url, repo, reference ?? digest, body, mediaType);
  assert.equal(put.status, 201, `pushing to ${repo}: ${put.status} ${JSON.stringify(put.errors)}`);
  return { digest, size: body.length, mediaType, body };
}

/** A small manifest standing for an index's child, of the child descriptor's media type. */
async function pushChild(url: string, repo: string, child: Json): Promise<Pushed> {
  const type = String(child.mediaType);
  if (INDEX_TYPES.has(type)) {
    return pushShaped(url, repo, null, { schemaVersion: 2, mediaType: type, manifests: [] });
  }
  const docker = type === DOCKER_MANIFEST;
  const platform = child.platform as { os?: string; architecture?: string } | undefined;
  const config = platform?.os ? { os: platform.os, architecture: platform.architecture } : {};
  const manifest: Json = {
    schemaVersion: 2,
    mediaType: type,
    config: { mediaType: docker ? DOCKER_CONFIG : "application/vnd.oci.image.config.v1+json", size: 2 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 100 }],
  };
  if (typeof child.artifactType === "string") {
    manifest.artifactType = child.artifactType;
    manifest.config = { mediaType: OCI_EMPTY, size: 2 };
  }
  return pushShaped(url, repo, null, manifest, child.artifactType ? {} : config);
}

/** A plain OCI image with annotations on its manifest. */
export async function pushImage(
  url: string,
  repo: string,
  tag: string,
  annotations: Record<string, string> = {},
): Promise<Pushed> {
  return pushShaped(
    url,
    repo,
    tag,
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 0 },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 200 }],
      annotations,
    },
    { os: "linux", architecture: "amd64", config: {}, nonce: randomBytes(4).toString("hex") },
  );
}

export interface ApiResponse<T> {
  res: Response;
  status: number;
  body: T;
}

/** GETs a discovery path and parses the JSON body (headers as given, e.g. Authorization). */
export async function api<T = Json>(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const res = await fetch(`${url}${path}`, { headers });
  const text = await res.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    throw new Error(`${path}: ${res.status} not JSON: ${text.slice(0, 300)}`);
  }
  return { res, status: res.status, body };
}

/** As api, but asserts a 200 with exactly `application/json`. */
export async function apiOk<T = Json>(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const r = await api<T>(url, path, headers);
  assert.equal(r.status, 200, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
  assert.equal(r.res.headers.get("content-type"), "application/json");
  return r;
}

/** Follows `Link: rel="next"` from `path` and collects `field` of every page (at most `maxPages`). */
export async function allPages<T>(
  url: string,
  path: string,
  field: string,
  headers: Record<string, string> = {},
  maxPages = 100,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let next: string | undefined = path;
  let pages = 0;
  while (next) {
    assert.ok(pages < maxPages, `more than ${maxPages} pages from ${path}`);
    const r: ApiResponse<Json> = await apiOk<Json>(url, next, headers);
    items.push(...(r.body[field] as T[]));
    pages += 1;
    const link = r.res.headers.get("link");
    next = link ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
  }
  return { items, pages };
}

export interface ArtifactDetail {
  repository: string;
  digest: string;
  tags: string[];
  kind: { id: string; title: string; icon: string; iconUrl: string };
  facts: Record<string, unknown> & {
    chart: Record<string, unknown> | null;
    model: Record<string, unknown> | null;
    sbom: { format: string } | null;
    platforms: string[];
  };
  annotations: Record<string, string>;
  layers: { mediaType: string; digest: string; size: number }[];
  accessories: Record<string, { digest: string; kind: string; tags: string[] }[]>;
  actions: { label: string; command: string }[];
}

/** A GET with headers fetch may not set (Host), over node:http; returns status and parsed JSON. */
export function getWithHost<T = Json>(
  url: string,
  path: string,
  host: string,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as T,
          });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}
