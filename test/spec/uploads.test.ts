/** OCI Distribution Spec: pushing blobs (monolithic, streamed, chunked), sessions and mounts, over HTTP. */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  bytes,
  digest,
  expectError,
  parseRawResponse,
  pushBlob,
  randomBlob,
  rawConnect,
  rawRequest,
  readAll,
  resolveLocation,
  sleep,
  startUpload,
  uniqueRepo,
  waitFor,
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

function blobUrl(repo: string, d: string): string {
  return `${base}/v2/${repo}/blobs/${d}`;
}

async function blobStatus(repo: string, d: string): Promise<number> {
  const res = await fetch(blobUrl(repo, d), { method: "HEAD" });
  return res.status;
}

async function expectBlob(repo: string, data: Buffer, d = digest(data)): Promise<void> {
  const res = await fetch(blobUrl(repo, d));
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `GET ${d} in ${repo}`);
  assert.equal(res.headers.get("docker-content-digest"), d);
  assert.ok(body.equals(data), "stored bytes are the pushed bytes");
}

async function uploadStatus(location: string): Promise<Response> {
  const res = await fetch(location);
  await res.arrayBuffer();
  return res;
}

async function patch(location: string, chunk: Buffer, range?: string): Promise<Response> {
  const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
  if (range !== undefined) headers["Content-Range"] = range;
  const res = await fetch(location, { method: "PATCH", headers, body: bytes(chunk) });
  if (res.status === 202) await res.arrayBuffer();
  return res;
}

function assertUploadState(res: Response, status: number, size: number, repo: string): void {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("range"), `0-${Math.max(size - 1, 0)}`);
  const location = res.headers.get("location");
  assert.ok(location, "Location header");
  assert.match(new URL(location, base).pathname, new RegExp(`^/v2/${repo}/blobs/uploads/[^/]+$`));
}

/** Sends the headers and the first `sent` bytes of a body announced as `announced` bytes, then closes. */
async function sendShortBody(method: string, path: string, announced: number, part: Buffer): Promise<void> {
  const socket = await rawConnect(base);
  socket.write(
    `${method} ${path} HTTP/1.1\r\nHost: ${new URL(base).host}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${announced}\r\n\r\n`,
  );
  socket.write(part);
  await sleep(200);
  socket.destroy();
}

describe("starting an upload", () => {
  test("POST opens a session: 202 with Location, Docker-Upload-UUID and Range", async () => {
    const repo = uniqueRepo("up");
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
    await res.arrayBuffer();
    assertUploadState(res, 202, 0, repo);
    const uuid = res.headers.get("docker-upload-uuid");
    assert.ok(uuid, "Docker-Upload-UUID header");
    assert.ok(res.headers.get("location")?.includes(uuid), "the Location names the session");
    const status = await uploadStatus(resolveLocation(base, res.headers.get("location")));
    assertUploadState(status, 204, 0, repo);
  });

  test("each POST opens a distinct session", async () => {
    const repo = uniqueRepo("up");
    const a = await startUpload(base, repo);
    const b = await startUpload(base, repo);
    assert.notEqual(a, b);
  });

  test("monolithic POST ?digest= stores the blob: 201, Location, Docker-Content-Digest", async () => {
    const repo = uniqueRepo("up");
    const data = randomBlob(300_000);
    const d = digest(data);
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${d}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes(data),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("docker-content-digest"), d);
    assert.equal(
      new URL(resolveLocation(base, res.headers.get("location"))).pathname,
      `/v2/${repo}/blobs/${d}`,
    );
    await expectBlob(repo, data);
  });

  test("monolithic POST ?digest= with a chunked (streamed) body", async () => {
    const repo = uniqueRepo("up");
    const data = randomBlob(1_500_000);
    const d = digest(data);
    const parts = [data.subarray(0, 700_000), data.subarray(700_000)];
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${d}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = parts.shift();
          if (next) controller.enqueue(bytes(next));
          else controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    await res.arrayBuffer();
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("docker-content-digest"), d);
    await expectBlob(repo, data);
  });

  test("monolithic POST with a wrong digest is 400 DIGEST_INVALID and stores nothing", async () => {
    const repo = uniqueRepo("up");
    const data = randomBlob(5000);
    const claimed = digest(randomBlob(10));
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${claimed}`, {
      method: "POST",
      body: bytes(data),
    });
    await expectError(res, 400, "DIGEST_INVALID");
    assert.equal(await blobStatus(repo, claimed), 404);
    assert.equal(await blobStatus(repo, digest(data)), 404);
  });

  test("monolithic POST with a malformed digest is 400 DIGEST_INVALID", async () => {
    const repo = uniqueRepo("up");
    for (const d of ["sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e", "nope"]) {
      const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${d}`, {
        method: "POST",
        body: Buffer.from("data"),
      });
      await expectError(res, 400, "DIGEST_INVALID");
    }
  });
});

describe("streamed and chunked uploads", () => {
  test("a streamed PATCH without Content-Range or Content-Length, then PUT ?digest=", async () => {
    const repo = uniqueRepo("stream");
    const data = randomBlob(2 * 1024 * 1024 + 17);
    const location = await startUpload(base, repo);
    const parts = [data.subarray(0, 1_000_000), data.subarray(1_000_000)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const res = await fetch(location, {
      method: "PATCH",
      headers: { "Content-Type": "application/octet-stream" },
      body,
      duplex: "half",
    } as RequestInit);
    await res.arrayBuffer();
    assertUploadState(res, 202, data.length, repo);
    const next = resolveLocation(base, res.headers.get("location"));
    const put = await fetch(withDigest(next, digest(data)), { method: "PUT" });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
    assert.equal(put.headers.get("docker-content-digest"), digest(data));
    assert.equal(
      new URL(resolveLocation(base, put.headers.get("location"))).pathname,
      `/v2/${repo}/blobs/${digest(data)}`,
    );
    await expectBlob(repo, data);
  });

  test("several streamed PATCHes append in order", async () => {
    const repo = uniqueRepo("stream");
    const data = randomBlob(30_000);
    let location = await startUpload(base, repo);
    for (let offset = 0; offset < data.length; offset += 10_000) {
      const res = await patch(location, data.subarray(offset, offset + 10_000));
      assertUploadState(res, 202, offset + 10_000, repo);
      location = resolveLocation(base, res.headers.get("location"));
    }
    const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("chunks with Content-Range, then PUT without a body", async () => {
    const repo = uniqueRepo("chunk");
    const data = randomBlob(25_000);
    let location = await startUpload(base, repo);
    for (let start = 0; start < data.length; start += 10_000) {
      const chunk = data.subarray(start, start + 10_000);
      const res = await patch(location, chunk, `${start}-${start + chunk.length - 1}`);
      assertUploadState(res, 202, start + chunk.length, repo);
      location = resolveLocation(base, res.headers.get("location"));
    }
    const status = await uploadStatus(location);
    assertUploadState(status, 204, data.length, repo);
    const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("PUT ?digest= with the final chunk as its body", async () => {
    const repo = uniqueRepo("chunk");
    const data = randomBlob(20_000);
    const location = await startUpload(base, repo);
    const first = await patch(location, data.subarray(0, 12_000), "0-11999");
    assert.equal(first.status, 202);
    const put = await fetch(withDigest(resolveLocation(base, first.headers.get("location")), digest(data)), {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream", "Content-Range": "12000-19999" },
      body: bytes(data.subarray(12_000)),
    });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
    assert.equal(put.headers.get("docker-content-digest"), digest(data));
    await expectBlob(repo, data);
  });

  test("a whole blob in one PUT on a fresh session", async () => {
    const repo = uniqueRepo("chunk");
    const data = randomBlob(7000);
    const location = await startUpload(base, repo);
    const put = await fetch(withDigest(location, digest(data)), {
      method: "PUT",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes(data),
    });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("an out-of-order chunk is 416 and the session stays usable", async () => {
    const repo = uniqueRepo("chunk");
    const data = randomBlob(3000);
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, data.subarray(0, 1000), "0-999")).status, 202);
    // A gap: starts past the end of what the session holds.
    const gap = await patch(location, data.subarray(2000, 3000), "2000-2999");
    assert.equal(gap.status, 416);
    await gap.arrayBuffer();
    assertUploadState(await uploadStatus(location), 204, 1000, repo);
    assert.equal((await patch(location, data.subarray(1000, 2000), "1000-1999")).status, 202);
    assert.equal((await patch(location, data.subarray(2000), "2000-2999")).status, 202);
    const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("an overlapping chunk is 416 and the session keeps its bytes", async () => {
    const repo = uniqueRepo("chunk");
    const data = randomBlob(2000);
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, data.subarray(0, 1000), "0-999")).status, 202);
    const overlap = await patch(location, randomBlob(1000), "500-1499");
    assert.equal(overlap.status, 416);
    await overlap.arrayBuffer();
    const again = await patch(location, randomBlob(1000), "0-999");
    assert.equal(again.status, 416);
    await again.arrayBuffer();
    assertUploadState(await uploadStatus(location), 204, 1000, repo);
    const put = await fetch(withDigest(location, digest(data)), {
      method: "PUT",
      headers: { "Content-Range": "1000-1999" },
      body: bytes(data.subarray(1000)),
    });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("a second writer on a busy session is refused and the first write is kept whole", async () => {
    const repo = uniqueRepo("chunk");
    const data = randomBlob(400_000);
    const location = await startUpload(base, repo);
    const path = new URL(location).pathname;
    // The first writer announces 400 000 bytes but sends only half, and holds the session.
    const socket = await rawConnect(base);
    socket.write(
      `PATCH ${path} HTTP/1.1\r\nHost: ${new URL(base).host}\r\nConnection: close\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`,
    );
    socket.write(data.subarray(0, 200_000));
    await sleep(200);
    const second = await patch(location, randomBlob(1000));
    assert.ok(second.status >= 400 && second.status < 500, `second writer got ${second.status}`);
    await second.arrayBuffer();
    const response = readAll(socket);
    socket.write(data.subarray(200_000));
    const first = parseRawResponse(await response);
    assert.equal(first.status, 202, first.body);
    assert.equal(first.headers["range"], `0-${data.length - 1}`);
    const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("a Content-Range that disagrees with the body length is refused and nothing appended", async () => {
    const repo = uniqueRepo("chunk");
    const location = await startUpload(base, repo);
    const res = await patch(location, randomBlob(100), "0-199");
    assert.ok(res.status === 400 || res.status === 416, `status ${res.status}`);
    await res.arrayBuffer();
    assertUploadState(await uploadStatus(location), 204, 0, repo);
  });

  test("a malformed Content-Range is a client error, not a 500", async () => {
    const repo = uniqueRepo("chunk");
    const location = await startUpload(base, repo);
    for (const range of ["abc", "10-5", "-5", "bytes=x-y"]) {
      const res = await patch(location, randomBlob(10), range);
      assert.ok(res.status === 400 || res.status === 416, `${range}: ${res.status}`);
      await res.arrayBuffer();
    }
    assertUploadState(await uploadStatus(location), 204, 0, repo);
  });

  test("sha512 digests: monolithic and chunked", async () => {
    const repo = uniqueRepo("sha512");
    const mono = randomBlob(50_000);
    const d = await pushBlob(base, repo, mono, "sha512");
    assert.match(d, /^sha512:[a-f0-9]{128}$/);
    await expectBlob(repo, mono, d);

    const chunked = randomBlob(40_000);
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, chunked.subarray(0, 25_000), "0-24999")).status, 202);
    assert.equal((await patch(location, chunked.subarray(25_000))).status, 202);
    const d512 = digest(chunked, "sha512");
    const put = await fetch(withDigest(location, d512), { method: "PUT" });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get("docker-content-digest"), d512);
    await expectBlob(repo, chunked, d512);
  });

  test("a sha512 digest that does not match is 400 DIGEST_INVALID", async () => {
    const repo = uniqueRepo("sha512");
    const data = randomBlob(1000);
    const wrong = digest(randomBlob(1000), "sha512");
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${wrong}`, {
      method: "POST",
      body: bytes(data),
    });
    await expectError(res, 400, "DIGEST_INVALID");
    assert.equal(await blobStatus(repo, wrong), 404);
    assert.equal(await blobStatus(repo, digest(data, "sha512")), 404);
  });

  test("pushing the same content twice, and to two repositories, works", async () => {
    const data = randomBlob(10_000);
    const a = uniqueRepo("twice");
    const b = uniqueRepo("twice");
    const d = await pushBlob(base, a, data);
    assert.equal(await pushBlob(base, a, data), d);
    assert.equal(await pushBlob(base, b, data), d);
    await expectBlob(a, data);
    await expectBlob(b, data);
  });
});

describe("completing, checking and cancelling sessions", () => {
  test("GET on a session answers 204 with Range and Location", async () => {
    const repo = uniqueRepo("status");
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, randomBlob(1234))).status, 202);
    const res = await uploadStatus(location);
    assertUploadState(res, 204, 1234, repo);
    assert.ok(res.headers.get("docker-upload-uuid"));
  });

  test("a wrong digest at PUT is 400 DIGEST_INVALID and nothing is stored", async () => {
    const repo = uniqueRepo("mismatch");
    const data = randomBlob(20_000);
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, data)).status, 202);
    const claimed = digest(randomBlob(20_000));
    await expectError(await fetch(withDigest(location, claimed), { method: "PUT" }), 400, "DIGEST_INVALID");
    assert.equal(await blobStatus(repo, claimed), 404);
    assert.equal(await blobStatus(repo, digest(data)), 404);
  });

  test("a wrong digest with a final chunk stores nothing either", async () => {
    const repo = uniqueRepo("mismatch");
    const data = randomBlob(8000);
    const location = await startUpload(base, repo);
    const claimed = digest(data.subarray(0, 7999));
    const res = await fetch(withDigest(location, claimed), { method: "PUT", body: bytes(data) });
    await expectError(res, 400, "DIGEST_INVALID");
    assert.equal(await blobStatus(repo, claimed), 404);
    assert.equal(await blobStatus(repo, digest(data)), 404);
  });

  test("PUT without a digest is 400 DIGEST_INVALID and the session is kept", async () => {
    const repo = uniqueRepo("nodigest");
    const data = randomBlob(500);
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, data)).status, 202);
    await expectError(await fetch(location, { method: "PUT" }), 400, "DIGEST_INVALID");
    await expectError(
      await fetch(withDigest(location, "sha256:1234"), { method: "PUT" }),
      400,
      "DIGEST_INVALID",
    );
    assertUploadState(await uploadStatus(location), 204, 500, repo);
    const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("a completed session is gone", async () => {
    const repo = uniqueRepo("done");
    const data = randomBlob(100);
    const location = await startUpload(base, repo);
    assert.equal(
      (await fetch(withDigest(location, digest(data)), { method: "PUT", body: bytes(data) })).status,
      201,
    );
    await expectError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectError(
      await fetch(location, { method: "PATCH", body: bytes(data) }),
      404,
      "BLOB_UPLOAD_UNKNOWN",
    );
  });

  test("DELETE cancels: 204, then the session is BLOB_UPLOAD_UNKNOWN", async () => {
    const repo = uniqueRepo("cancel");
    const data = randomBlob(4000);
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, data)).status, 202);
    const res = await fetch(location, { method: "DELETE" });
    await res.arrayBuffer();
    assert.equal(res.status, 204);
    await expectError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectError(
      await fetch(location, { method: "PATCH", body: bytes(data) }),
      404,
      "BLOB_UPLOAD_UNKNOWN",
    );
    await expectError(
      await fetch(withDigest(location, digest(data)), { method: "PUT" }),
      404,
      "BLOB_UPLOAD_UNKNOWN",
    );
    await expectError(await fetch(location, { method: "DELETE" }), 404, "BLOB_UPLOAD_UNKNOWN");
    assert.equal(await blobStatus(repo, digest(data)), 404);
  });

  test("unknown upload ids are 404 BLOB_UPLOAD_UNKNOWN for every method", async () => {
    const repo = uniqueRepo("unknown");
    await pushBlob(base, repo, randomBlob(10));
    for (const id of [randomUUID(), "not-a-session", "x".repeat(300)]) {
      const location = `${base}/v2/${repo}/blobs/uploads/${id}`;
      await expectError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
      await expectError(await fetch(location, { method: "PATCH", body: "abc" }), 404, "BLOB_UPLOAD_UNKNOWN");
      await expectError(
        await fetch(withDigest(location, digest("abc")), { method: "PUT", body: "abc" }),
        404,
        "BLOB_UPLOAD_UNKNOWN",
      );
      await expectError(await fetch(location, { method: "DELETE" }), 404, "BLOB_UPLOAD_UNKNOWN");
    }
    for (const id of ["..", "%2e%2e", "..%2F..%2Fmetadata.db"]) {
      const res = await rawRequest(base, "GET", `/v2/${repo}/blobs/uploads/${id}`);
      assert.ok(res.status === 404 || res.status === 400, `${id}: ${res.status}`);
      assert.match(res.body, /BLOB_UPLOAD_UNKNOWN|NAME_INVALID|BLOB_UNKNOWN|NAME_UNKNOWN/, id);
    }
  });

  test("a session is bound to its repository", async () => {
    const repo = uniqueRepo("bound");
    const other = uniqueRepo("bound");
    const location = await startUpload(base, repo);
    const foreign = location.replace(`/v2/${repo}/`, `/v2/${other}/`);
    await expectError(await fetch(foreign), 404, "BLOB_UPLOAD_UNKNOWN");
    await expectError(await fetch(foreign, { method: "PATCH", body: "abc" }), 404, "BLOB_UPLOAD_UNKNOWN");
    assertUploadState(await uploadStatus(location), 204, 0, repo);
  });
});

describe("bodies that do not match Content-Length", () => {
  test("a monolithic POST whose body is cut short stores nothing", async () => {
    const repo = uniqueRepo("short");
    const data = randomBlob(200_000);
    const d = digest(data);
    await sendShortBody(
      "POST",
      `/v2/${repo}/blobs/uploads/?digest=${d}`,
      data.length,
      data.subarray(0, 50_000),
    );
    await sleep(300);
    assert.equal(await blobStatus(repo, d), 404);
    assert.equal(await blobStatus(repo, digest(data.subarray(0, 50_000))), 404);
    // The same blob can then be pushed properly.
    await pushBlob(base, repo, data);
    await expectBlob(repo, data);
  });

  test("a PATCH cut short is rolled back and the session stays usable", async () => {
    const repo = uniqueRepo("short");
    const data = randomBlob(100_000);
    const location = await startUpload(base, repo);
    assert.equal((await patch(location, data.subarray(0, 10_000))).status, 202);
    const path = new URL(location).pathname;
    await sendShortBody("PATCH", path, 90_000, data.subarray(10_000, 40_000));
    assert.equal((await uploadStatus(location)).headers.get("range"), "0-9999");
    // The server may still be noticing the cut (the session is held by that request until it does):
    // until then the session answers 416, as to any concurrent writer; then the resume succeeds.
    let put: Response;
    const deadline = Date.now() + 5000;
    do {
      put = await fetch(withDigest(location, digest(data)), {
        method: "PUT",
        headers: { "Content-Range": "10000-99999" },
        body: bytes(data.subarray(10_000)),
      });
      await put.arrayBuffer();
      if (put.status === 416) await sleep(100);
    } while (put.status === 416 && Date.now() < deadline);
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });

  test("a PUT whose final chunk is cut short stores nothing", async () => {
    const repo = uniqueRepo("short");
    const data = randomBlob(60_000);
    const location = await startUpload(base, repo);
    const path = `${new URL(location).pathname}?digest=${digest(data)}`;
    await sendShortBody("PUT", path, data.length, data.subarray(0, 20_000));
    await sleep(300);
    assert.equal(await blobStatus(repo, digest(data)), 404);
    await waitFor(
      async () => (await uploadStatus(location)).headers.get("range") === "0-0",
      5000,
      "the cut chunk to be rolled back",
    );
  });

  test("a monolithic POST with a body longer than Content-Length stores nothing", async () => {
    const repo = uniqueRepo("long");
    const data = randomBlob(30_000);
    const d = digest(data);
    // The bytes past Content-Length are a malformed next request: the connection fails with a 400.
    const res = await rawRequest(
      base,
      "POST",
      `/v2/${repo}/blobs/uploads/?digest=${d}`,
      { "Content-Type": "application/octet-stream", "Content-Length": "20000" },
      data,
    );
    assert.equal(res.status, 400, res.body);
    await sleep(200);
    assert.equal(await blobStatus(repo, d), 404);
    assert.equal(await blobStatus(repo, digest(data.subarray(0, 20_000))), 404);
  });

  test("a PATCH with a body longer than Content-Length never appends more than Content-Length", async () => {
    const repo = uniqueRepo("long");
    const data = randomBlob(3000);
    const location = await startUpload(base, repo);
    const res = await rawRequest(
      base,
      "PATCH",
      new URL(location).pathname,
      { "Content-Type": "application/octet-stream", "Content-Length": "2000" },
      data,
    );
    assert.ok(res.status === 202 || res.status === 400, `status ${res.status}`);
    await sleep(300);
    const range = (await uploadStatus(location)).headers.get("range");
    assert.ok(range === "0-0" || range === "0-1999", `session holds ${range}`);
    const held = range === "0-1999" ? 2000 : 0;
    const put = await fetch(withDigest(location, digest(data)), {
      method: "PUT",
      headers: { "Content-Range": `${held}-2999` },
      body: bytes(data.subarray(held)),
    });
    assert.equal(put.status, 201);
    await expectBlob(repo, data);
  });
});

describe("cross-repository mount", () => {
  test("mounts a blob the source holds: 201 with Location and Docker-Content-Digest", async () => {
    const source = uniqueRepo("mount");
    const target = uniqueRepo("mount");
    const data = randomBlob(40_000);
    const d = await pushBlob(base, source, data);
    assert.equal(await blobStatus(target, d), 404);
    const res = await fetch(`${base}/v2/${target}/blobs/uploads/?mount=${d}&from=${source}`, {
      method: "POST",
    });
    await res.arrayBuffer();
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("docker-content-digest"), d);
    assert.equal(
      new URL(resolveLocation(base, res.headers.get("location"))).pathname,
      `/v2/${target}/blobs/${d}`,
    );
    await expectBlob(target, data);
    await expectBlob(source, data);
  });

  test("a mounted blob stays in the target when the source deletes it", async () => {
    const source = uniqueRepo("mount");
    const target = uniqueRepo("mount");
    const data = randomBlob(1000);
    const d = await pushBlob(base, source, data);
    const res = await fetch(`${base}/v2/${target}/blobs/uploads/?mount=${d}&from=${source}`, {
      method: "POST",
    });
    assert.equal(res.status, 201);
    assert.equal((await fetch(blobUrl(source, d), { method: "DELETE" })).status, 202);
    await expectBlob(target, data);
  });

  test("a blob the source lacks gives an upload session (202) that works", async () => {
    const source = uniqueRepo("mount");
    const target = uniqueRepo("mount");
    await pushBlob(base, source, randomBlob(10));
    const data = randomBlob(5000);
    const d = digest(data);
    const res = await fetch(`${base}/v2/${target}/blobs/uploads/?mount=${d}&from=${source}`, {
      method: "POST",
    });
    await res.arrayBuffer();
    assertUploadState(res, 202, 0, target);
    assert.ok(res.headers.get("docker-upload-uuid"));
    assert.equal(await blobStatus(target, d), 404);
    const location = resolveLocation(base, res.headers.get("location"));
    const put = await fetch(withDigest(location, d), { method: "PUT", body: bytes(data) });
    assert.equal(put.status, 201);
    await expectBlob(target, data);
  });

  test("a blob held by another repository than `from` is not mounted", async () => {
    const holder = uniqueRepo("mount");
    const source = uniqueRepo("mount");
    const target = uniqueRepo("mount");
    const d = await pushBlob(base, holder, randomBlob(100));
    await pushBlob(base, source, randomBlob(100));
    const res = await fetch(`${base}/v2/${target}/blobs/uploads/?mount=${d}&from=${source}`, {
      method: "POST",
    });
    await res.arrayBuffer();
    assert.equal(res.status, 202);
    assert.equal(await blobStatus(target, d), 404);
  });

  test("a missing source repository, or no `from`, gives a 202 session", async () => {
    const holder = uniqueRepo("mount");
    const target = uniqueRepo("mount");
    const d = await pushBlob(base, holder, randomBlob(100));
    for (const query of [`mount=${d}&from=${uniqueRepo("absent")}`, `mount=${d}`]) {
      const res = await fetch(`${base}/v2/${target}/blobs/uploads/?${query}`, { method: "POST" });
      await res.arrayBuffer();
      assertUploadState(res, 202, 0, target);
      assert.equal(await blobStatus(target, d), 404, query);
    }
  });

  test("a malformed mount digest or source name is a 400, not a 500", async () => {
    const target = uniqueRepo("mount");
    const source = uniqueRepo("mount");
    await expectError(
      await fetch(`${base}/v2/${target}/blobs/uploads/?mount=sha256:zz&from=${source}`, { method: "POST" }),
      400,
      "DIGEST_INVALID",
    );
    const d = digest("x");
    await expectError(
      await fetch(`${base}/v2/${target}/blobs/uploads/?mount=${d}&from=Bad/Name`, { method: "POST" }),
      400,
      "NAME_INVALID",
    );
  });
});
