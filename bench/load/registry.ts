import { blobBuffer, blobChunks, blobDigest, sha256 } from "./content.js";
import { expectStatus, nextLink, request } from "./http.js";

export const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
export const ACCEPT = `${MANIFEST_TYPE}, application/vnd.docker.distribution.manifest.v2+json`;
const CONFIG_TYPE = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** POST then, at the returned Location (which may carry a query), the upload's state. */
async function startUpload(base: string, repo: string): Promise<URL> {
  const res = await request("POST", `${base}/v2/${repo}/blobs/uploads/`, {
    headers: { "Content-Length": 0 },
  });
  expectStatus(res, [202], "start upload");
  return new URL(String(res.headers.location), base);
}

/** Monolithic push: POST, then PUT ?digest= with the whole body. */
export async function pushBlob(
  base: string,
  repo: string,
  body: Buffer | (() => Iterable<Buffer>),
  size: number,
  digest: string,
): Promise<void> {
  const location = await startUpload(base, repo);
  location.searchParams.set("digest", digest);
  const content = Buffer.isBuffer(body) ? body : toAsync(body());
  const headers = { "Content-Type": "application/octet-stream", "Content-Length": size };
  const res = await request("PUT", location.toString(), { headers, body: content });
  expectStatus(res, [201], "put blob");
}

/** Chunked push: PATCH each `chunk`-sized piece with Content-Range, then an empty PUT ?digest=. */
export async function pushChunked(base: string, repo: string, size: number, seed: string, chunk: number) {
  const digest = blobDigest(size, seed);
  const pieces = [...blobChunks(size, seed)];
  const perChunk = chunk / (1024 * 1024);
  let location = await startUpload(base, repo);
  for (let start = 0, i = 0; start < size; start += chunk, i++) {
    const end = Math.min(size, start + chunk);
    const headers = {
      "Content-Type": "application/octet-stream",
      "Content-Length": end - start,
      "Content-Range": `${start}-${end - 1}`,
    };
    const body = toAsync(pieces.slice(i * perChunk, (i + 1) * perChunk));
    const res = await request("PATCH", location.toString(), { headers, body });
    expectStatus(res, [202], "patch chunk");
    location = new URL(String(res.headers.location), base);
  }
  location.searchParams.set("digest", digest);
  const res = await request("PUT", location.toString(), { headers: { "Content-Length": 0 } });
  expectStatus(res, [201], "finish chunked upload");
}

async function* toAsync(chunks: Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* chunks;
}

/** Pushes a generated blob (digest computed first) and returns its descriptor. */
export async function pushGenerated(
  base: string,
  repo: string,
  size: number,
  seed: string,
  mediaType: string,
) {
  const body = blobBuffer(size, seed);
  const digest = sha256(body);
  await pushBlob(base, repo, body, size, digest);
  return { mediaType, digest, size };
}

/** An OCI image manifest body; `annotation` makes otherwise equal manifests distinct. */
export function imageManifest(config: Descriptor, layers: Descriptor[], annotation?: string): string {
  const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType: MANIFEST_TYPE, config, layers };
  if (annotation) manifest.annotations = { "org.example.bench": annotation };
  return JSON.stringify(manifest);
}

export async function putManifest(base: string, repo: string, reference: string, body: string) {
  const headers = { "Content-Type": MANIFEST_TYPE, "Content-Length": Buffer.byteLength(body) };
  const res = await request("PUT", `${base}/v2/${repo}/manifests/${reference}`, { headers, body });
  expectStatus(res, [201], `put manifest ${repo}:${reference}`);
}

/** A small image: a config blob and `layerSizes` layers, tagged `tag`; returns the manifest body. */
export async function pushImage(base: string, repo: string, tag: string, layerSizes: number[], seed: string) {
  const configBody = JSON.stringify({ architecture: "amd64", os: "linux", seed });
  const config = { mediaType: CONFIG_TYPE, digest: sha256(configBody), size: Buffer.byteLength(configBody) };
  await pushBlob(base, repo, Buffer.from(configBody), config.size, config.digest);
  const layers: Descriptor[] = [];
  for (const [i, size] of layerSizes.entries()) {
    layers.push(await pushGenerated(base, repo, size, `${seed}/layer${i}`, LAYER_TYPE));
  }
  const manifest = imageManifest(config, layers);
  await putManifest(base, repo, tag, manifest);
  return { config, layers, manifest };
}

/** GETs a blob and counts its bytes. */
export async function pullBlob(base: string, repo: string, digest: string): Promise<number> {
  const res = await request("GET", `${base}/v2/${repo}/blobs/${digest}`);
  expectStatus(res, [200], `get blob ${digest}`);
  return res.bytes;
}

export async function getManifest(base: string, repo: string, reference: string): Promise<Buffer> {
  const res = await request("GET", `${base}/v2/${repo}/manifests/${reference}`, {
    headers: { Accept: ACCEPT },
    collect: true,
  });
  expectStatus(res, [200], `get manifest ${repo}:${reference}`);
  return res.body;
}

/** Follows Link pagination from `path`; a server that ignores `n` answers in one page. */
export async function listAll(base: string, path: string, field: "tags" | "repositories") {
  let url: string | undefined = `${base}${path}`;
  let items = 0;
  let pages = 0;
  while (url) {
    const res = await request("GET", url, { collect: true });
    expectStatus(res, [200], `list ${url}`);
    const body = JSON.parse(res.body.toString("utf8")) as Record<string, string[] | null>;
    items += body[field]?.length ?? 0;
    pages++;
    url = nextLink(res.headers, base);
  }
  return { items, pages };
}
