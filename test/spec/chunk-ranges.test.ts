/** A chunk's Content-Range is enforced on the bytes actually received, also without a Content-Length. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  bytes,
  digest,
  expectError,
  parseRawResponse,
  randomBlob,
  rawConnect,
  readAll,
  startUpload,
  uniqueRepo,
  withDigest,
} from "./support.js";

let server: TestServer;
let base: string;

before(async () => {
  server = await startWharf();
  base = server.url;
});

after(async () => {
  await server?.stop();
});

/** A PATCH whose body goes out with chunked transfer encoding (no Content-Length), in `parts`. */
async function streamedPatch(location: string, range: string, parts: Buffer[]): Promise<Response> {
  const queue = [...parts];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = queue.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(bytes(next));
    },
  });
  return fetch(location, {
    method: "PATCH",
    headers: { "Content-Type": "application/octet-stream", "Content-Range": range },
    body,
    duplex: "half",
  } as RequestInit);
}

async function uploadedRange(location: string): Promise<string | null> {
  const res = await fetch(location);
  await res.arrayBuffer();
  assert.equal(res.status, 204);
  return res.headers.get("range");
}

async function expectBlob(repo: string, data: Buffer): Promise<void> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${digest(data)}`);
  assert.equal(res.status, 200);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(data), "stored bytes are the pushed bytes");
}

describe("Content-Range on a chunked-transfer PATCH", () => {
  test("a first chunk declared 0-9 that carries 30 bytes is 416 and appends nothing", async () => {
    const repo = uniqueRepo("range");
    const location = await startUpload(base, repo);
    const data = randomBlob(30);
    const res = await streamedPatch(location, "0-9", [data.subarray(0, 15), data.subarray(15)]);
    await expectError(res, 416, "BLOB_UPLOAD_INVALID");
    // Nothing kept: the whole 10 bytes can still be sent as 0-9 and complete the blob.
    const right = data.subarray(0, 10);
    const ok = await streamedPatch(location, "0-9", [right]);
    await ok.arrayBuffer();
    assert.equal(ok.status, 202);
    assert.equal(ok.headers.get("range"), "0-9");
    const put = await fetch(withDigest(location, digest(right)), { method: "PUT" });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
    await expectBlob(repo, right);
  });

  test("a later chunk carrying more than declared, or fewer, leaves the session exactly as it was", async () => {
    const repo = uniqueRepo("range");
    const location = await startUpload(base, repo);
    const data = randomBlob(20);
    const first = await streamedPatch(location, "0-9", [data.subarray(0, 10)]);
    await first.arrayBuffer();
    assert.equal(first.status, 202);
    assert.equal(await uploadedRange(location), "0-9");

    const tooLong = await streamedPatch(location, "10-19", [data.subarray(10), randomBlob(20)]);
    await expectError(tooLong, 416, "BLOB_UPLOAD_INVALID");
    assert.equal(await uploadedRange(location), "0-9");

    const tooShort = await streamedPatch(location, "10-19", [data.subarray(10, 15)]);
    await expectError(tooShort, 416, "BLOB_UPLOAD_INVALID");
    assert.equal(await uploadedRange(location), "0-9");

    const right = await streamedPatch(location, "10-19", [data.subarray(10, 13), data.subarray(13)]);
    await right.arrayBuffer();
    assert.equal(right.status, 202);
    assert.equal(right.headers.get("range"), "0-19");
    const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("a final chunk on PUT carrying more than its Content-Range stores nothing", async () => {
    const repo = uniqueRepo("range");
    const location = await startUpload(base, repo);
    const data = randomBlob(30);
    const url = new URL(withDigest(location, digest(data.subarray(0, 10))));
    const socket = await rawConnect(base);
    socket.write(
      `PUT ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${server.host}\r\nConnection: close\r\n` +
        `Content-Range: 0-9\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${data.length.toString(16)}\r\n`,
    );
    socket.write(data);
    socket.write("\r\n0\r\n\r\n");
    const res = parseRawResponse(await readAll(socket));
    assert.equal(res.status, 416, res.body);
    assert.match(res.body, /BLOB_UPLOAD_INVALID/);
    const head = await fetch(`${base}/v2/${repo}/blobs/${digest(data.subarray(0, 10))}`, { method: "HEAD" });
    assert.equal(head.status, 404);
    assert.equal(await uploadedRange(location), "0-0");
  });
});
