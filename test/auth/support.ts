/** Helpers shared by the access-control tests: an auth-enabled server, accounts, tokens and raw pushes. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { backendOf } from "../helpers/backends.js";

const repoRoot = resolve(import.meta.dirname, "..", "..");

export const ADMIN = { name: "admin", password: "admin-password-1" } as const;

export interface Credentials {
  name: string;
  password: string;
}

export interface AuthServer {
  url: string;
  dataDir: string;
  server: TestServer;
  /** Stops the server; keepData leaves the data directory for a restart. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Starts a new server process on the same data directory (the old one must be stopped). */
  restart(env?: Record<string, string>): Promise<AuthServer>;
}

/** Runs the bootstrap `wharf user add NAME --admin --password-stdin --data-dir DIR`. */
export async function bootstrapAdmin(dataDir: string, creds: Credentials = ADMIN): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "bin", "wharf"),
      "user",
      "add",
      creds.name,
      "--admin",
      "--password-stdin",
      "--data-dir",
      dataDir,
    ],
    {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, WHARF_LOG_LEVEL: "warn", ...(await backendOf(dataDir)) },
    },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  child.stdin.end(creds.password);
  const code = await new Promise<number | null>((done) => child.on("exit", done));
  assert.equal(code, 0, `wharf user add failed:\n${out}`);
}

/** A fresh data directory with an administrator, and a server on it. */
export async function startAuthServer(env: Record<string, string> = {}): Promise<AuthServer> {
  const dataDir = await mkdtemp(join(tmpdir(), "wharf-auth-"));
  await bootstrapAdmin(dataDir);
  return wrap(dataDir, env, await startWharf({ dataDir, env }));
}

function wrap(dataDir: string, env: Record<string, string>, server: TestServer): AuthServer {
  return {
    url: server.url,
    dataDir,
    server,
    async stop(opts = {}) {
      await server.stop({ keepData: true });
      if (!opts.keepData) await rm(dataDir, { recursive: true, force: true });
    },
    async restart(newEnv = env) {
      return wrap(dataDir, newEnv, await startWharf({ dataDir, env: newEnv }));
    },
  };
}

export function basic(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.name}:${creds.password}`).toString("base64")}`;
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** Calls the admin API (as the administrator unless other credentials are given); returns the response. */
export async function adminCall(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  creds: Credentials = ADMIN,
): Promise<Response> {
  const headers: Record<string, string> = { Authorization: basic(creds) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(`${url}/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function expectStatus(res: Response, status: number, what: string): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, status, `${what}: ${res.status} ${text}`);
  return text;
}

export async function createUser(url: string, name: string, password: string, admin = false) {
  await expectStatus(
    await adminCall(url, "POST", "/users", { name, password, admin }),
    201,
    `adding user ${name}`,
  );
  return { name, password };
}

/** Creates a robot token; returns its credentials (name and secret). */
export async function createRobot(
  url: string,
  name: string,
  repositories: string[],
  actions: string[],
  expiresAt: string | null = null,
): Promise<Credentials> {
  const text = await expectStatus(
    await adminCall(url, "POST", "/tokens", { name, repositories, actions, expiresAt }),
    201,
    `creating robot ${name}`,
  );
  const body = JSON.parse(text) as { secret?: unknown };
  assert.equal(typeof body.secret, "string");
  return { name, password: body.secret as string };
}

export async function revokeRobot(url: string, name: string): Promise<void> {
  await expectStatus(await adminCall(url, "DELETE", `/tokens/${name}`), 204, `revoking ${name}`);
}

/** Adds an access rule; returns its id. */
export async function addRule(url: string, subject: string, pattern: string, actions: string[]) {
  const text = await expectStatus(
    await adminCall(url, "POST", "/access", { subject, pattern, actions }),
    201,
    `adding rule ${subject} ${pattern}`,
  );
  return (JSON.parse(text) as { id: string }).id;
}

export async function removeRule(url: string, id: string): Promise<void> {
  await expectStatus(await adminCall(url, "DELETE", `/access/${id}`), 204, `removing rule ${id}`);
}

export interface TokenResponse {
  token: string;
  access_token?: string;
  expires_in?: number;
  issued_at?: string;
  refresh_token?: string;
}

/** GET /auth/token with Basic credentials, or none (anonymous); returns the parsed response. */
export async function requestToken(
  url: string,
  scopes: string[],
  creds?: Credentials,
  extra: Record<string, string> = {},
): Promise<Response> {
  const query = new URLSearchParams({ service: "wharf", ...extra });
  for (const scope of scopes) query.append("scope", scope);
  return fetch(`${url}/auth/token?${query.toString()}`, {
    headers: creds ? { Authorization: basic(creds) } : {},
  });
}

export async function getToken(url: string, scopes: string[], creds?: Credentials): Promise<string> {
  const text = await expectStatus(await requestToken(url, scopes, creds), 200, "getting a token");
  const body = JSON.parse(text) as TokenResponse;
  assert.equal(typeof body.token, "string");
  return body.token;
}

/** POST /auth/token with a form (the OAuth2 grants). */
export async function postToken(url: string, form: Record<string, string | string[]>): Promise<Response> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) {
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  return fetch(`${url}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: params.toString(),
  });
}

export interface AccessClaim {
  type: string;
  name: string;
  actions: string[];
}

export function decodeSegment<T>(segment: string | undefined): T {
  return JSON.parse(Buffer.from(segment ?? "", "base64url").toString("utf8")) as T;
}

/** The (unverified) header and payload of a JWT. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header, payload] = token.split(".");
  return { header: decodeSegment(header), payload: decodeSegment(payload) };
}

/** The `access` claim, with each entry's actions sorted, sorted by type and name. */
export function accessOf(token: string): AccessClaim[] {
  const access = decodeJwt(token).payload.access as AccessClaim[];
  assert.ok(Array.isArray(access), "the token has an access claim");
  return access
    .map((e) => ({ type: e.type, name: e.name, actions: [...e.actions].sort() }))
    .sort((a, b) => `${a.type}:${a.name}`.localeCompare(`${b.type}:${b.name}`));
}

export function digest(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

/** Pushes a blob monolithically (POST ?digest=) and returns its descriptor. */
export async function pushBlob(url: string, repo: string, data: Buffer, auth: string) {
  const d = digest(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${d}`, {
    method: "POST",
    headers: { Authorization: auth, "Content-Type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  await expectStatus(res, 201, `pushing blob ${d} to ${repo}`);
  return { digest: d, size: data.length };
}

/** An image manifest for the given config and layer (the blobs must be in the repository). */
export function imageManifest(
  config: { digest: string; size: number },
  layer: { digest: string; size: number },
  annotations: Record<string, string> = {},
): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
      annotations,
    }),
  );
}

export async function putManifest(url: string, repo: string, reference: string, body: Buffer, auth: string) {
  return fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { Authorization: auth, "Content-Type": MANIFEST_TYPE },
    body: new Uint8Array(body),
  });
}

export interface PushedImage {
  repo: string;
  tag: string;
  digest: string;
  manifest: Buffer;
  config: { digest: string; size: number };
  layer: { digest: string; size: number };
}

/** Pushes a small image (random config and layer) over plain HTTP with the given Authorization. */
export async function pushImage(url: string, repo: string, tag: string, auth: string): Promise<PushedImage> {
  const config = await pushBlob(
    url,
    repo,
    Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomHex() })),
    auth,
  );
  const layer = await pushBlob(url, repo, randomBytes(64), auth);
  const manifest = imageManifest(config, layer);
  await expectStatus(await putManifest(url, repo, tag, manifest, auth), 201, `pushing ${repo}:${tag}`);
  return { repo, tag, digest: digest(manifest), manifest, config, layer };
}

export function randomHex(bytes = 6): string {
  return randomBytes(bytes).toString("hex");
}

/** Parses `Bearer realm="..",service="..",scope="..",error=".."` into its parameters. */
export function parseChallenge(header: string | null): Record<string, string> {
  assert.ok(header, "expected a WWW-Authenticate header");
  assert.match(header, /^Bearer /);
  const params: Record<string, string> = {};
  for (const m of header.slice("Bearer ".length).matchAll(/(\w+)="([^"]*)"/g)) {
    params[m[1] ?? ""] = m[2] ?? "";
  }
  return params;
}

/** The error codes of a registry error body. */
export async function errorCodes(res: Response): Promise<string[]> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { errors?: { code?: string }[] };
    return (body.errors ?? []).map((e) => e.code ?? "");
  } catch {
    return [`(not JSON: ${text.slice(0, 200)})`];
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
