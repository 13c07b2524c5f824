/** Signatures made with the library and pushed over HTTP as cosign does, and the trust admin API. */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import {
  bundleReferrerManifest,
  COSIGN_SIGNATURE_ANNOTATION,
  createSigstoreBundle,
  legacySignatureManifest,
  publicKeyPem,
  signPayload,
  simpleSigningPayload,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type SigningKey,
} from "../../src/oci/signatures/index.js";
import { OCI_CONFIG, OCI_EMPTY, OCI_LAYER, OCI_MANIFEST, type Descriptor } from "./manifest-support.js";

/** The credentials every request here sends (the suite's administrator); trust keys need one. */
let authorization: string | undefined;
export function useAuthorization(value: string | undefined): void {
  authorization = value;
}

/** fetch with the suite's credentials. */
export function call(url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (authorization && !headers.has("Authorization")) headers.set("Authorization", authorization);
  return fetch(url, { ...init, headers });
}

export async function pushBlob(
  url: string,
  repo: string,
  data: Uint8Array | string,
  mediaType = "application/octet-stream",
): Promise<Descriptor> {
  const bytes = Buffer.from(data);
  const digest = sha256Of(bytes);
  const res = await call(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: new Uint8Array(bytes),
  });
  assert.equal(res.status, 201, `blob upload to ${repo}: ${res.status} ${await res.text()}`);
  return { mediaType, digest, size: bytes.length };
}

export async function putManifest(
  url: string,
  repo: string,
  reference: string,
  body: Buffer,
  mediaType: string,
): Promise<{ status: number; digest: string; text: string }> {
  const res = await call(`${url}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": mediaType },
    body: new Uint8Array(body),
  });
  return { status: res.status, digest: sha256Of(body), text: await res.text() };
}

/** A fresh image (config, one layer, manifest) under `tag`; its descriptor and bytes. */
export async function pushImage(
  url: string,
  repo: string,
  tag: string,
): Promise<Descriptor & { body: Buffer }> {
  const config = await pushBlob(
    url,
    repo,
    JSON.stringify({ nonce: randomBytes(8).toString("hex") }),
    OCI_CONFIG,
  );
  const layer = await pushBlob(url, repo, randomBytes(64), OCI_LAYER);
  const body = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
  );
  await copyManifest(url, repo, tag, body);
  return { mediaType: OCI_MANIFEST, digest: sha256Of(body), size: body.length, body };
}

/** PUTs an image manifest whose blobs are in the repository (mounted from elsewhere, say). */
export async function copyManifest(url: string, repo: string, tag: string, body: Buffer): Promise<void> {
  const put = await putManifest(url, repo, tag, body, OCI_MANIFEST);
  assert.equal(put.status, 201, `manifest PUT to ${repo}: ${put.status} ${put.text}`);
}

/** Mounts an image's blobs from `from` into `repo`, then PUTs its manifest there. */
export async function mountImage(url: string, from: string, repo: string, tag: string, body: Buffer) {
  const doc = JSON.parse(body.toString("utf8")) as { config: Descriptor; layers: Descriptor[] };
  for (const blob of [doc.config, ...doc.layers]) {
    const res = await call(`${url}/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}`, {
      method: "POST",
    });
    assert.equal(res.status, 201, `mount into ${repo}: ${res.status} ${await res.text()}`);
  }
  await copyManifest(url, repo, tag, body);
}

/** `sha256-<hex>.sig`, cosign's tag for the signatures of a digest. */
export function sigTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

/**
 * Pushes a Sigstore bundle referrer of `subject` as cosign v3 does (bundle blob, empty config, referrer
 * manifest by digest). `signs` is the digest the bundle's statement names (the subject's by default);
 * `tamper` alters the signed statement after signing. Returns the referrer manifest's digest.
 */
export async function pushBundleSignature(
  url: string,
  repo: string,
  subject: Descriptor,
  key: SigningKey,
  options: { signs?: string; tamper?: boolean } = {},
): Promise<string> {
  let bundle = await createSigstoreBundle(options.signs ?? subject.digest, key, `127.0.0.1/${repo}`);
  if (options.tamper) {
    const doc = JSON.parse(bundle.toString("utf8")) as { dsseEnvelope: { payload: string } };
    const statement = Buffer.from(doc.dsseEnvelope.payload, "base64").toString("utf8");
    doc.dsseEnvelope.payload = Buffer.from(statement.replace("cosign", "Cosign")).toString("base64");
    assert.notEqual(Buffer.from(doc.dsseEnvelope.payload, "base64").toString("utf8"), statement);
    bundle = Buffer.from(JSON.stringify(doc));
  }
  const layer = await pushBlob(url, repo, bundle, SIGSTORE_BUNDLE_MEDIA_TYPE);
  await pushBlob(url, repo, "{}", OCI_EMPTY);
  const manifest = bundleReferrerManifest(
    { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    layer,
    new Date(),
  );
  const put = await putManifest(url, repo, sha256Of(manifest), manifest, mediaTypeOf(manifest));
  assert.equal(put.status, 201, `bundle referrer PUT: ${put.status} ${put.text}`);
  return put.digest;
}

/**
 * Pushes a cosign `.sig` image for `subject` (the simple-signing payload as a layer, its signature in
 * the annotation) after the `existing` layers, to the `.sig` tag unless `untagged` (by digest then).
 * `tamper` alters the payload after signing. Returns the manifest's digest and its layers.
 */
export async function pushLegacySignature(
  url: string,
  repo: string,
  subject: string,
  key: SigningKey,
  options: { existing?: Descriptor[]; tamper?: boolean; untagged?: boolean; signs?: string } = {},
): Promise<{ digest: string; layers: Descriptor[] }> {
  const payload = simpleSigningPayload(`127.0.0.1/${repo}`, options.signs ?? subject);
  const signature = signPayload(payload, key);
  const stored = options.tamper ? Buffer.from(payload.toString("utf8").replace("cosign", "Cosign")) : payload;
  const layer: Descriptor = {
    ...(await pushBlob(url, repo, stored, SIMPLE_SIGNING_MEDIA_TYPE)),
    annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature },
  };
  const layers = [...(options.existing ?? []), layer];
  const { manifest, config } = legacySignatureManifest(layers);
  await pushBlob(url, repo, config);
  const reference = options.untagged ? sha256Of(manifest) : sigTag(subject);
  const put = await putManifest(url, repo, reference, manifest, mediaTypeOf(manifest));
  assert.equal(put.status, 201, `.sig PUT: ${put.status} ${put.text}`);
  return { digest: put.digest, layers };
}

function sha256Of(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function mediaTypeOf(manifest: Buffer): string {
  return String((JSON.parse(manifest.toString("utf8")) as { mediaType: unknown }).mediaType);
}

/** Registers a trusted key through the admin API. */
export async function addTrustKey(
  url: string,
  name: string,
  key: SigningKey,
): Promise<{ fingerprint: string }> {
  const res = await call(`${url}/api/v1/trust/keys`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, publicKey: publicKeyPem(key.publicKey) }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, `trust key add ${name}: ${res.status} ${text}`);
  return JSON.parse(text) as { fingerprint: string };
}

export async function removeTrustKey(url: string, name: string): Promise<void> {
  const res = await call(`${url}/api/v1/trust/keys/${name}`, { method: "DELETE" });
  assert.equal(res.status, 204, `trust key rm ${name}: ${res.status} ${await res.text()}`);
}

export interface ListedSignature {
  key: string;
  fingerprint: string;
  format: string;
  digest: string;
  verifiedAt: string;
}

export interface Signed {
  digest: string;
  signed: boolean;
  signatures: ListedSignature[];
}

/** GET of a discovery API path, as JSON. */
export async function api<T>(url: string, path: string, as?: string): Promise<T> {
  const res = await call(`${url}/api/v1${path}`, as ? { headers: { Authorization: as } } : {});
  const text = await res.text();
  assert.equal(res.status, 200, `GET /api/v1${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** The repository's listed artifact with `digest` (its artifacts page). */
export async function listed(url: string, repo: string, digest: string, as?: string): Promise<Signed> {
  const page = await api<{ artifacts: Signed[] }>(url, `/repositories/${repo}/artifacts`, as);
  const found = page.artifacts.find((a) => a.digest === digest);
  assert.ok(found, `${digest} is not listed in ${repo}: ${JSON.stringify(page)}`);
  return found;
}
