/** Garbage collection tests: pushing as the administrator, running a collection, measuring the store. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { adminCall, basic, ADMIN } from "../auth/support.js";
import { listFiles } from "./storage-support.js";
import { backendOf, s3Settings, testS3Client, TEST_BUCKET } from "../helpers/backends.js";
import {
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER,
  OCI_MANIFEST,
  sha256,
  type Descriptor,
} from "./manifest-support.js";

export interface GcItem {
  kind: string;
  repository?: string;
  digest?: string;
  id?: string;
  bytes: number;
  reason: string;
}

export interface GcRun {
  id: string;
  status: "running" | "done" | "failed";
  dryRun: boolean;
  actor: string;
  count: number;
  bytes: number;
  items: GcItem[];
  phases: { phase: string; count: number; bytes: number; skipped: number }[];
  error?: string;
}

const auth = basic(ADMIN);

export async function pushBlob(
  url: string,
  repo: string,
  data: Buffer,
  mediaType = OCI_LAYER,
): Promise<Descriptor> {
  const digest = sha256(data);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers: { Authorization: auth, "Content-Type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  assert.equal(res.status, 201, `blob push: ${res.status} ${await res.text()}`);
  return { mediaType, digest, size: data.length };
}

/** PUTs a manifest document under `reference` (a tag, or its own digest when omitted). */
export async function putManifest(
  url: string,
  repo: string,
  doc: object,
  reference?: string,
): Promise<Descriptor> {
  const body = Buffer.from(JSON.stringify(doc));
  const digest = sha256(body);
  const mediaType = String((doc as { mediaType?: string }).mediaType);
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference ?? digest}`, {
    method: "PUT",
    headers: { Authorization: auth, "Content-Type": mediaType },
    body,
  });
  assert.equal(res.status, 201, `manifest PUT: ${res.status} ${await res.text()}`);
  return { mediaType, digest, size: body.length };
}

/** An image with a fresh config and one fresh layer of `layerBytes`, optionally a referrer of `subject`. */
export async function pushImage(
  url: string,
  repo: string,
  options: { tag?: string; subject?: Descriptor; layerBytes?: number } = {},
): Promise<Descriptor & { layer: Descriptor; config: Descriptor }> {
  const config = await pushBlob(
    url,
    repo,
    Buffer.from(JSON.stringify({ n: randomBytes(8).toString("hex") })),
    OCI_CONFIG,
  );
  const layer = await pushBlob(url, repo, randomBytes(options.layerBytes ?? 300));
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: [layer],
    ...(options.subject ? { subject: options.subject } : {}),
  };
  return { ...(await putManifest(url, repo, doc, options.tag)), layer, config };
}

export async function pushIndex(
  url: string,
  repo: string,
  children: Descriptor[],
  tag?: string,
): Promise<Descriptor> {
  return putManifest(url, repo, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: children }, tag);
}

export async function manifestStatus(url: string, repo: string, digest: string): Promise<number> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${digest}`, {
    method: "HEAD",
    headers: { Authorization: auth, Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
  });
  return res.status;
}

/** Starts a collection through the admin API (its own grace window if given) and polls it to its end (bounded). */
export async function runGc(url: string, dryRun: boolean, graceMs?: number): Promise<GcRun> {
  const res = await adminCall(url, "POST", "/gc", { dryRun, ...(graceMs === undefined ? {} : { graceMs }) });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  let run = JSON.parse(text) as GcRun;
  for (let i = 0; run.status === "running" && i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    run = (await (await adminCall(url, "GET", `/gc/${run.id}`)).json()) as GcRun;
  }
  assert.equal(run.status, "done", JSON.stringify(run));
  return run;
}

/** Items as comparable strings, sorted. */
export function itemKeys(run: GcRun): string[] {
  return run.items
    .map((i) => `${i.kind} ${i.repository ?? "-"} ${i.digest ?? i.id ?? "-"} ${i.bytes}`)
    .sort();
}

/** Bytes the registry's blob store holds (files under storage/, or the objects under its S3 prefix). */
export async function storeBytes(dataDir: string): Promise<number> {
  const backend = await backendOf(dataDir);
  if (backend.WHARF_STORAGE_DRIVER === "s3") {
    const client = testS3Client(await s3Settings());
    try {
      let total = 0;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket: TEST_BUCKET,
            Prefix: backend.WHARF_S3_PREFIX,
            ContinuationToken: token,
          }),
        );
        for (const object of page.Contents ?? []) total += object.Size ?? 0;
        token = page.NextContinuationToken;
      } while (token);
      return total;
    } finally {
      client.destroy();
    }
  }
  const dir = join(dataDir, "storage");
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  let total = 0;
  for (const entry of entries)
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  return total;
}

/** Digests of every committed blob the store of the registry holds. */
export async function storedBlobs(dataDir: string, backend: Record<string, string>): Promise<Set<string>> {
  const found = new Set<string>();
  if (backend.WHARF_STORAGE_DRIVER === "s3") {
    const client = testS3Client(await s3Settings());
    const root = `${backend.WHARF_S3_PREFIX ?? ""}blobs/`;
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: root, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? [])
          found.add(digestOfPath((object.Key ?? "").slice(root.length)));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } finally {
      client.destroy();
    }
    return found;
  }
  for (const path of await listFiles(join(dataDir, "storage", "blobs"))) found.add(digestOfPath(path));
  return found;
}

/** `sha256/ab/abcd…` → `sha256:abcd…` */
function digestOfPath(path: string): string {
  const [algorithm = "", , hex = ""] = path.split("/");
  return `${algorithm}:${hex}`;
}
