/**
 * The S3 blob store against the real S3-compatible server (../shared/s3): uploads continued by another
 * instance (as another node would), failures that must leave the persisted state usable, atomic
 * commits, bounded memory, and cleanup that leaves nothing behind.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { S3BlobStore } from "../../src/storage/s3-blob-store.js";
import { BlobNotFoundError, type UploadState } from "../../src/storage/blob-store.js";
import { s3Settings, testS3Client, TEST_BUCKET, type S3Settings } from "../helpers/backends.js";

const MiB = 1024 * 1024;
/** S3's minimum, so that a few MiB already make several parts. */
const PART = 5 * MiB;

let settings: S3Settings;
let s3: S3Client;
let prefix: string;
const stores: S3BlobStore[] = [];

function newStore(): S3BlobStore {
  const store = new S3BlobStore({
    bucket: TEST_BUCKET,
    prefix,
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    redirect: false,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    partSize: PART,
  });
  stores.push(store);
  return store;
}

before(async () => {
  settings = await s3Settings();
  s3 = testS3Client(settings);
  prefix = `store-${randomBytes(6).toString("hex")}/`;
});

after(() => {
  for (const store of stores) store.close();
  s3?.destroy();
});

const sha256 = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
const source = (...chunks: Buffer[]) => Readable.from(chunks);

/** A stream that sends `chunks` and then fails, like a client that goes away mid-request. */
function failing(...chunks: Buffer[]): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) yield chunk;
      throw new Error("client went away");
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keyExists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: TEST_BUCKET, Key: key }));
    return true;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

const blobKey = (digest: string) => {
  const hex = digest.slice("sha256:".length);
  return `${prefix}blobs/sha256/${hex.slice(0, 2)}/${hex}`;
};

/** Everything stored for an upload: objects and multipart uploads under its prefix. */
async function uploadLeftovers(id: string): Promise<string[]> {
  const Prefix = `${prefix}uploads/${id}/`;
  const objects = await s3.send(new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix }));
  const multipart = await s3.send(new ListMultipartUploadsCommand({ Bucket: TEST_BUCKET, Prefix }));
  return [
    ...(objects.Contents ?? []).map((o) => o.Key ?? ""),
    ...(multipart.Uploads ?? []).map((u) => `multipart ${u.Key ?? ""}`),
  ];
}

/** Appends `chunks` one request each, alternating between the stores; the final state. */
async function appendAll(
  id: string,
  state: UploadState,
  chunks: Buffer[],
  nodes: S3BlobStore[],
): Promise<{ size: number; state: UploadState }> {
  let current = { size: 0, state };
  for (const [i, chunk] of chunks.entries()) {
    const node = nodes[i % nodes.length] as S3BlobStore;
    current = await node.appendUpload(id, current.state, current.size, source(chunk));
  }
  return current;
}

describe("S3 blob store", () => {
  test("a monolithic upload becomes the blob at commit, not before; ranges read parts of it", async () => {
    const store = newStore();
    const data = randomBytes(300 * 1024);
    const digest = sha256(data);
    const id = randomUUID();
    const created = await store.createUpload(id);
    const appended = await store.appendUpload(id, created, 0, source(data));
    assert.equal(appended.size, data.length);
    assert.equal(await keyExists(blobKey(digest)), false, "nothing under the blob key before commit");
    assert.equal(await store.stat(digest), null);

    await store.commitUpload(id, appended.state, digest, data.length);
    assert.deepEqual(await store.stat(digest), { size: data.length });
    assert.ok((await readAll(await store.read(digest))).equals(data));
    const range = await readAll(await store.read(digest, { start: 1000, end: 1999 }));
    assert.ok(range.equals(data.subarray(1000, 2000)));
    assert.deepEqual(await uploadLeftovers(id), [], "the upload's objects are gone");
  });

  test("an empty upload commits an empty blob", async () => {
    const store = newStore();
    const digest = sha256(Buffer.alloc(0));
    const id = randomUUID();
    const state = await store.createUpload(id);
    await store.commitUpload(id, state, digest, 0);
    assert.deepEqual(await store.stat(digest), { size: 0 });
  });

  test("chunks smaller and larger than a part, alternating between two nodes, make the right blob", async () => {
    const [a, b] = [newStore(), newStore()];
    const chunks = [MiB, 7 * MiB, 300 * 1024, 11 * MiB + 17, 2 * MiB, 1].map((n) => randomBytes(n));
    const data = Buffer.concat(chunks);
    const digest = sha256(data);
    const id = randomUUID();
    const result = await appendAll(id, await a.createUpload(id), chunks, [a, b]);
    assert.equal(result.size, data.length);
    assert.equal(await keyExists(blobKey(digest)), false);

    await b.commitUpload(id, result.state, digest, data.length);
    assert.equal(await keyExists(blobKey(digest)), true);
    assert.equal(sha256(await readAll(await a.read(digest))), digest);
    const range = await readAll(await a.read(digest, { start: PART - 10, end: PART + 9 }));
    assert.ok(range.equals(data.subarray(PART - 10, PART + 10)), "a range across a part boundary");
    assert.deepEqual(await uploadLeftovers(id), []);
  });

  test("a request that fails half-way leaves the persisted state usable on another node", async () => {
    const [a, b] = [newStore(), newStore()];
    const first = randomBytes(3 * MiB);
    const id = randomUUID();
    const persisted = await a.appendUpload(id, await a.createUpload(id), 0, source(first));
    // Enough to fill a part (uploaded) before the stream fails.
    await assert.rejects(
      a.appendUpload(
        id,
        persisted.state,
        persisted.size,
        failing(randomBytes(4 * MiB), randomBytes(3 * MiB)),
      ),
      /client went away/,
    );
    const rest = randomBytes(6 * MiB);
    const resumed = await b.appendUpload(id, persisted.state, persisted.size, source(rest));
    const data = Buffer.concat([first, rest]);
    const digest = sha256(data);
    await b.commitUpload(id, resumed.state, digest, data.length);
    assert.equal(sha256(await readAll(await a.read(digest))), digest);
  });

  test("a state that was never persisted does not damage the previous one's tail or parts", async () => {
    const [a, b] = [newStore(), newStore()];
    const first = randomBytes(6 * MiB); // a part and a 1 MiB tail
    const id = randomUUID();
    const persisted = await a.appendUpload(id, await a.createUpload(id), 0, source(first));
    // Succeeds in the store, but (say) the database write fails: this state is thrown away.
    await a.appendUpload(id, persisted.state, persisted.size, source(randomBytes(100)));
    await a.appendUpload(id, persisted.state, persisted.size, source(randomBytes(5 * MiB)));
    const rest = randomBytes(200);
    const retried = await b.appendUpload(id, persisted.state, persisted.size, source(rest));
    const data = Buffer.concat([first, rest]);
    const digest = sha256(data);
    await b.commitUpload(id, retried.state, digest, data.length);
    assert.equal(sha256(await readAll(await b.read(digest))), digest);
    assert.deepEqual(await uploadLeftovers(id), [], "the abandoned requests' objects went too");
  });

  test("readUpload returns the bytes so far, and the upload still commits afterwards", async () => {
    const store = newStore();
    const chunks = [randomBytes(6 * MiB), randomBytes(MiB)];
    const data = Buffer.concat(chunks);
    const id = randomUUID();
    const result = await appendAll(id, await store.createUpload(id), chunks, [store]);
    assert.ok((await readAll(await store.readUpload(id, result.state, data.length))).equals(data));
    const digest = sha256(data);
    await store.commitUpload(id, result.state, digest, data.length);
    assert.equal(sha256(await readAll(await store.read(digest))), digest);
  });

  test("quarantine takes a blob out of service and keeps its bytes; delete removes it", async () => {
    const store = newStore();
    const data = randomBytes(2048);
    const digest = sha256(data);
    const id = randomUUID();
    const state = await store.appendUpload(id, await store.createUpload(id), 0, source(data));
    await store.commitUpload(id, state.state, digest, data.length);

    await store.quarantine(digest);
    assert.equal(await store.stat(digest), null);
    await assert.rejects(store.read(digest), BlobNotFoundError);
    assert.equal(await keyExists(`${prefix}quarantine/sha256-${digest.slice(7)}`), true);
    await store.quarantine(digest); // absent already: nothing happens

    const again = randomUUID();
    const next = await store.appendUpload(again, await store.createUpload(again), 0, source(data));
    await store.commitUpload(again, next.state, digest, data.length);
    assert.deepEqual(await store.stat(digest), { size: data.length }, "committing again puts it back");

    await store.delete(digest);
    assert.equal(await store.stat(digest), null);
    assert.equal(await keyExists(blobKey(digest)), false);
  });

  test("deleteUpload removes parts, tails and abandoned multipart uploads, with or without a state", async () => {
    const store = newStore();
    for (const withState of [true, false]) {
      const id = randomUUID();
      const persisted = await store.appendUpload(
        id,
        await store.createUpload(id),
        0,
        source(randomBytes(6 * MiB)),
      );
      // A failed request that started a second multipart upload no state refers to.
      const fresh = await store.createUpload(id);
      await assert.rejects(store.appendUpload(id, fresh, 0, failing(randomBytes(6 * MiB))));
      assert.ok((await uploadLeftovers(id)).length >= 2);
      await store.deleteUpload(id, withState ? persisted.state : null);
      assert.deepEqual(await uploadLeftovers(id), [], `nothing left (state given: ${withState})`);
    }
  });

  test("listUploads names uploads by their newest activity", async () => {
    const store = newStore();
    const small = randomUUID(); // only a tail object
    await store.appendUpload(small, await store.createUpload(small), 0, source(randomBytes(10)));
    const multipartOnly = randomUUID(); // only a multipart upload (the request failed before its tail)
    await assert.rejects(
      store.appendUpload(
        multipartOnly,
        await store.createUpload(multipartOnly),
        0,
        failing(randomBytes(6 * MiB)),
      ),
    );
    const later = await store.listUploads(new Date(Date.now() + 60_000));
    assert.ok(later.includes(small) && later.includes(multipartOnly), later.join(", "));
    const earlier = await store.listUploads(new Date(Date.now() - 60_000));
    assert.ok(!earlier.includes(small) && !earlier.includes(multipartOnly));
    for (const id of [small, multipartOnly]) await store.deleteUpload(id, null);
  });

  test("a 64 MiB upload in 1 MiB chunks, and in one request, holds at most two parts in memory", async () => {
    const store = newStore();
    const chunks = Array.from({ length: 64 }, () => randomBytes(MiB));
    const digest = sha256(Buffer.concat(chunks));
    const bound = 2 * PART + MiB; // the part being filled (and one chunk past it) and the one in flight

    const id = randomUUID();
    const chunked = await appendAll(id, await store.createUpload(id), chunks, [store]);
    assert.equal(chunked.size, 64 * MiB);
    assert.ok(store.buffered.peak <= bound, `peak ${store.buffered.peak} > ${bound}`);
    assert.ok(store.buffered.peak >= PART, "the meter counts what the store holds");
    await store.commitUpload(id, chunked.state, digest, 64 * MiB);
    assert.equal(sha256(await readAll(await store.read(digest))), digest);

    const whole = randomUUID();
    const small = chunks.flatMap((chunk) =>
      Array.from({ length: 16 }, (_, i) => chunk.subarray(i * 65536, (i + 1) * 65536)),
    );
    const once = await store.appendUpload(whole, await store.createUpload(whole), 0, Readable.from(small));
    assert.equal(once.size, 64 * MiB);
    assert.ok(store.buffered.peak <= bound, `peak ${store.buffered.peak} > ${bound}`);
    assert.equal(store.buffered.current, 0, "nothing is held once the requests are over");
    await store.deleteUpload(whole, once.state);
  });
});
