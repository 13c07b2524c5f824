/** Small helpers shared by the spec tests: digests, pushes, error bodies and raw HTTP. */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { once } from "node:events";

export type Algorithm = "sha256" | "sha512";

export function digest(data: Uint8Array | string, algorithm: Algorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A copy of `data` that fetch accepts as a request body. */
export function bytes(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(data);
}

/** Random content, so every test works on blobs no other test pushed. */
export function randomBlob(size: number): Buffer {
  return randomBytes(size);
}

/** A fresh, valid repository name. */
export function uniqueRepo(prefix = "spec"): string {
  return `${prefix}/r${randomBytes(6).toString("hex")}`;
}

/** Resolves a Location header (absolute or relative) against the server. */
export function resolveLocation(base: string, location: string | null): string {
  assert.ok(location, "expected a Location header");
  return new URL(location, base).toString();
}

/** Pushes a blob monolithically (POST ?digest=) and returns its digest. */
export async function pushBlob(
  base: string,
  repo: string,
  data: Buffer,
  algorithm: Algorithm = "sha256",
): Promise<string> {
  const d = digest(data, algorithm);
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${d}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes(data),
  });
  await res.arrayBuffer();
  assert.equal(res.status, 201, `pushing ${d} to ${repo}`);
  return d;
}

/** Opens an upload session and returns its absolute Location URL. */
export async function startUpload(base: string, repo: string): Promise<string> {
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await res.arrayBuffer();
  assert.equal(res.status, 202);
  return resolveLocation(base, res.headers.get("location"));
}

/** Appends `?digest=` (or `&digest=`) to an upload location, which may carry a query already. */
export function withDigest(location: string, d: string): string {
  const url = new URL(location);
  url.searchParams.set("digest", d);
  return url.toString();
}

/** Pushes an OCI image manifest referencing the given config and layers (all pushed already). */
export async function pushManifest(
  base: string,
  repo: string,
  reference: string,
  config: { digest: string; size: number },
  layers: { digest: string; size: number }[],
): Promise<{ digest: string; body: Buffer }> {
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...l })),
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`${base}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": manifest.mediaType },
    body,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return { digest: digest(body), body };
}

interface ErrorBody {
  errors?: { code?: string; message?: string }[];
}

/** Asserts the status and that the body is the spec's error JSON holding `code`. */
export async function expectError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${text}`);
  let body: ErrorBody;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    assert.fail(`error body is not JSON: ${text}`);
  }
  const codes = (body.errors ?? []).map((e) => e.code);
  assert.ok(codes.includes(code), `expected error code ${code}, got ${JSON.stringify(body)}`);
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses the head of the first HTTP response in `text` (enough for status and small bodies). */
export function parseRawResponse(text: string): RawResponse {
  const end = text.indexOf("\r\n\r\n");
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: end === -1 ? "" : text.slice(end + 4) };
}

/** A raw TCP connection to the server, for requests fetch cannot make (bad paths, short bodies). */
export async function rawConnect(base: string): Promise<Socket> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, "connect");
  return socket;
}

/** Sends a complete raw request (with Connection: close) and returns the parsed response. */
export async function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer,
): Promise<RawResponse> {
  const socket = await rawConnect(base);
  const host = new URL(base).host;
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body && headers["Content-Length"] === undefined) lines.push(`Content-Length: ${body.length}`);
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  if (body) socket.write(body);
  return parseRawResponse(await readAll(socket));
}

/** Everything the peer sends until it closes the connection (or `timeoutMs` passes). */
export async function readAll(socket: Socket, timeoutMs = 10_000): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of response in ${timeoutMs} ms: ${Buffer.concat(chunks).toString()}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.once("close", done);
    socket.once("error", done);
  });
  return Buffer.concat(chunks).toString("latin1");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
