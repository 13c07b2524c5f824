/**
 * Blobs on PostgreSQL + S3 over HTTP: pushed through one node and continued on another, pulled by a
 * redirect to a presigned S3 URL (storage.redirect: true) or streamed through the node (false), and a
 * redirect only for a caller who may pull that blob from that repository.
 */
// Quiet in this process; the servers get it unset, to show that they silence it themselves.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const LOUD_SDK = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "" };

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { startWharf, type TestServer } from "../helpers/server.js";
import { backendEnv, s3Settings, testS3Client, TEST_BUCKET } from "../helpers/backends.js";
import {
  bytes,
  digest,
  expectError,
  pushBlob,
  randomBlob,
  resolveLocation,
  uniqueRepo,
} from "../spec/support.js";

const MiB = 1024 * 1024;

let redirecting: TestServer;
let streaming: TestServer;
let s3Endpoint: string;

before(async () => {
  const backend = await backendEnv("postgres-s3");
  s3Endpoint = (await s3Settings()).endpoint;
  redirecting = await startWharf({ backend, env: { ...LOUD_SDK, WHARF_STORAGE_REDIRECT: "true" } });
  streaming = await startWharf({ backend, env: { ...LOUD_SDK, WHARF_STORAGE_REDIRECT: "false" } });
});

after(async () => {
  await redirecting?.stop();
  await streaming?.stop();
});

const blobUrl = (server: TestServer, repo: string, d: string) => `${server.url}/v2/${repo}/blobs/${d}`;

/** Pushes `data` in chunks of `chunk` bytes, each PATCH to the next of `nodes`, and completes it. */
async function pushChunked(nodes: TestServer[], repo: string, data: Buffer, chunk: number): Promise<string> {
  const first = nodes[0] as TestServer;
  const started = await fetch(`${first.url}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  assert.equal(started.status, 202);
  let path = new URL(resolveLocation(first.url, started.headers.get("location"))).pathname;
  for (let offset = 0, i = 0; offset < data.length; offset += chunk, i++) {
    const node = nodes[i % nodes.length] as TestServer;
    const part = data.subarray(offset, offset + chunk);
    const res = await fetch(`${node.url}${path}`, {
      method: "PATCH",
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Range": `${offset}-${offset + part.length - 1}`,
      },
      body: bytes(part),
    });
    assert.equal(res.status, 202, `chunk ${i} on node ${i % nodes.length}: ${await res.text()}`);
    path = new URL(resolveLocation(node.url, res.headers.get("location"))).pathname;
  }
  const d = digest(data);
  const last = nodes[data.length % nodes.length] as TestServer;
  const done = await fetch(`${last.url}${path}?digest=${d}`, { method: "PUT" });
  assert.equal(done.status, 201, await done.text());
  return d;
}

describe("blobs on S3 over HTTP", () => {
  const repo = uniqueRepo("s3");
  // Larger than a part (8 MiB), so it goes through a multipart upload.
  const data = randomBlob(13 * MiB + 5);
  let d: string;

  before(async () => {
    d = await pushChunked([redirecting, streaming], repo, data, 3 * MiB);
  });

  test("the blob lives in the bucket under the server's prefix, not in its data directory", async () => {
    const s3 = testS3Client(await s3Settings());
    try {
      const prefix = redirecting.backend.WHARF_S3_PREFIX ?? "";
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: `${prefix}blobs/` }),
      );
      const keys = (listed.Contents ?? []).map((o) => o.Key);
      assert.ok(keys.includes(`${prefix}blobs/sha256/${d.slice(7, 9)}/${d.slice(7)}`), keys.join(", "));
      // The SDK's Node-version notice is not an operator's concern; other warnings would still show.
      assert.doesNotMatch(redirecting.output(), /NodeVersionSupportWarning/);
    } finally {
      s3.destroy();
    }
  });

  test("redirect on: GET answers 307 to a presigned URL that serves the bytes, and ranges of them", async () => {
    const res = await fetch(blobUrl(redirecting, repo, d), { redirect: "manual" });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get("docker-content-digest"), d);
    const location = res.headers.get("location") ?? "";
    assert.ok(location.startsWith(`${s3Endpoint}/`), location);
    assert.match(location, /X-Amz-Signature=/);

    const direct = await fetch(location);
    assert.equal(direct.status, 200);
    assert.ok(Buffer.from(await direct.arrayBuffer()).equals(data));

    const ranged = await fetch(location, { headers: { Range: "bytes=8388600-8388615" } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(8388600, 8388616)));
  });

  test("redirect on: a Range request followed through the redirect gets that range", async () => {
    const res = await fetch(blobUrl(redirecting, repo, d), { headers: { Range: "bytes=100-199" } });
    assert.equal(res.status, 206);
    assert.ok(res.url.startsWith(`${s3Endpoint}/`), "answered by S3");
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(100, 200)));
  });

  test("redirect on: HEAD stays on the node", async () => {
    const res = await fetch(blobUrl(redirecting, repo, d), { method: "HEAD", redirect: "manual" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("location"), null);
    assert.equal(res.headers.get("content-length"), String(data.length));
    assert.equal(res.headers.get("docker-content-digest"), d);
  });

  test("redirect on: a blob the repository does not have gets 404, never a URL", async () => {
    const res = await fetch(blobUrl(redirecting, uniqueRepo("other"), d), { redirect: "manual" });
    assert.equal(res.headers.get("location"), null);
    await expectError(res, 404, "BLOB_UNKNOWN");
  });

  test("redirect off: GET streams the bytes through the node, ranges too", async () => {
    const res = await fetch(blobUrl(streaming, repo, d), { redirect: "manual" });
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    const ranged = await fetch(blobUrl(streaming, repo, d), {
      headers: { Range: "bytes=8388600-8388615" },
      redirect: "manual",
    });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(8388600, 8388616)));
  });

  test("a monolithic push through one node is pulled through the other", async () => {
    const small = randomBlob(4096);
    const sd = await pushBlob(streaming.url, repo, small);
    const res = await fetch(blobUrl(redirecting, repo, sd));
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(small));
  });
  test("redirect on: a caller who may not pull gets 401, never a URL", async () => {
    // A third node on the same database and bucket, with authentication on: anonymous is refused.
    // Last: turning authentication on is recorded in the shared database.
    const guarded = await startWharf({
      backend: redirecting.backend,
      env: { WHARF_STORAGE_REDIRECT: "true", WHARF_AUTH_ENABLED: "true" },
    });
    try {
      const res = await fetch(blobUrl(guarded, repo, d), { redirect: "manual" });
      assert.equal(res.headers.get("location"), null);
      await expectError(res, 401, "UNAUTHORIZED");
    } finally {
      await guarded.stop();
    }
  });
});
