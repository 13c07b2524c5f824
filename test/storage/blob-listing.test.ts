/** BlobStore.listBlobs on both stores: committed blobs in digest order, paged, with sizes and times. */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { FsBlobStore } from "../../src/storage/fs-blob-store.js";
import { S3BlobStore } from "../../src/storage/s3-blob-store.js";
import type { BlobStore, StoredBlob } from "../../src/storage/blob-store.js";
import { s3Settings, TEST_BUCKET } from "../helpers/backends.js";

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const step of cleanup) await step();
});

async function commit(store: BlobStore, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
  const id = randomUUID();
  const state = await store.createUpload(id);
  const appended = await store.appendUpload(id, state, 0, Readable.from([data]));
  await store.commitUpload(id, appended.state, digest, data.length);
  return digest;
}

async function checkListing(store: BlobStore): Promise<void> {
  const started = Date.now() - 2000;
  const sizes = new Map<string, number>();
  for (let i = 0; i < 7; i++) {
    const data = randomBytes(100 + i);
    sizes.set(await commit(store, data), data.length);
  }
  const seen: StoredBlob[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = await store.listBlobs(after, 3);
    assert.ok(page.length <= 3, "a page holds at most the limit");
    seen.push(...page);
    if (page.length < 3) break;
    after = page.at(-1)?.digest;
  }
  const digests = seen.map((b) => b.digest);
  assert.deepEqual(digests, [...sizes.keys()].sort(), "every blob once, in digest order");
  for (const blob of seen) {
    assert.equal(blob.size, sizes.get(blob.digest));
    assert.ok(blob.modified.getTime() >= started, "the modification time is the commit's");
  }
}

describe("BlobStore.listBlobs", { timeout: 60_000 }, () => {
  test("the filesystem store pages through its blobs in digest order", async () => {
    const root = await mkdtemp(join(tmpdir(), "wharf-listing-"));
    cleanup.push(() => rm(root, { recursive: true, force: true }));
    const store = new FsBlobStore(root);
    await store.init();
    await checkListing(store);
  });

  test("the S3 store pages through its blobs in digest order", async () => {
    const settings = await s3Settings();
    const store = new S3BlobStore({
      bucket: TEST_BUCKET,
      prefix: `listing-${randomBytes(6).toString("hex")}/`,
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      redirect: false,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    });
    cleanup.push(() => store.close());
    await checkListing(store);
  });
});
