/** OCI Distribution Spec: pulling and deleting blobs, digests and repository names, over real HTTP. */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readdir, readlink } from "node:fs/promises";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  digest,
  expectError,
  pushBlob,
  pushManifest,
  randomBlob,
  rawRequest,
  sha256Hex,
  uniqueRepo,
  waitFor,
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

/** Every test ends by checking the server never answered with a 5xx and logged no failure. */
function assertNoServerErrors(): void {
  assert.doesNotMatch(server.output(), /"level":"(error|fatal)"|request failed|internal server error/);
}

describe("GET and HEAD a blob", () => {
  const repo = uniqueRepo("blobs");
  const data = randomBlob(100_000);
  let d: string;

  before(async () => {
    d = await pushBlob(base, repo, data);
  });

  test("GET returns the bytes with digest, length, type and ETag headers", async () => {
    const res = await fetch(blobUrl(repo, d));
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), d);
    assert.equal(res.headers.get("content-length"), String(data.length));
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    const etag = res.headers.get("etag");
    if (etag !== null) assert.ok(etag.includes(d.split(":")[1] ?? "-"), `ETag ${etag} names the digest`);
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    assert.ok(body.equals(data), "served bytes are the pushed bytes");
  });

  test("HEAD returns the same headers and no body", async () => {
    const res = await fetch(blobUrl(repo, d), { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), d);
    assert.equal(res.headers.get("content-length"), String(data.length));
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test("HEAD over a raw connection sends no body bytes", async () => {
    const raw = await rawRequest(base, "HEAD", `/v2/${repo}/blobs/${d}`);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers["content-length"], String(data.length));
    assert.equal(raw.body, "");
  });

  test("If-None-Match with the ETag answers 304", async () => {
    const first = await fetch(blobUrl(repo, d), { method: "HEAD" });
    const etag = first.headers.get("etag");
    if (etag === null) return;
    const res = await fetch(blobUrl(repo, d), { headers: { "If-None-Match": etag } });
    assert.equal(res.status, 304);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test("an empty blob is served with Content-Length 0", async () => {
    const empty = Buffer.alloc(0);
    const ed = await pushBlob(base, repo, empty);
    assert.equal(ed, `sha256:${sha256Hex("")}`);
    const res = await fetch(blobUrl(repo, ed));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-length"), "0");
    assert.equal(res.headers.get("docker-content-digest"), ed);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test("a blob is served only by repositories that hold it", async () => {
    const other = uniqueRepo("blobs");
    await expectError(await fetch(blobUrl(other, d)), 404, "BLOB_UNKNOWN");
    const head = await fetch(blobUrl(other, d), { method: "HEAD" });
    assert.equal(head.status, 404);
  });

  test("a manifest's digest can be fetched through the blob endpoint", async () => {
    const config = Buffer.from("{}");
    const cd = await pushBlob(base, repo, config);
    const manifest = await pushManifest(base, repo, "v1", { digest: cd, size: config.length }, [
      { digest: d, size: data.length },
    ]);
    const res = await fetch(blobUrl(repo, manifest.digest));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), manifest.digest);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(manifest.body));
  });
});

describe("a client that goes away mid-download", () => {
  test("leaves no blob file open on the server, and the next GET is whole", async () => {
    const repo = uniqueRepo("abort");
    const data = randomBlob(8 * 1024 * 1024);
    const d = await pushBlob(base, repo, data);
    const openBlobFiles = async () => {
      const fds = await readdir(`/proc/${server.process.pid}/fd`);
      const targets = await Promise.all(
        fds.map((fd) => readlink(`/proc/${server.process.pid}/fd/${fd}`).catch(() => "")),
      );
      return targets.filter((t) => t.includes("/blobs/sha256/")).length;
    };
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      const res = await fetch(blobUrl(repo, d), { signal: controller.signal });
      const reader = res.body?.getReader();
      await reader?.read(); // the first bytes arrived: the server is mid-send
      controller.abort();
      await reader?.cancel().catch(() => undefined);
    }
    await waitFor(async () => (await openBlobFiles()) === 0, 5000, "the server to close the blob files");
    const whole = Buffer.from(await (await fetch(blobUrl(repo, d))).arrayBuffer());
    assert.ok(whole.equals(data));
    assertNoServerErrors();
  });
});

describe("Range requests", () => {
  const repo = uniqueRepo("range");
  const data = randomBlob(4096);
  let d: string;

  before(async () => {
    d = await pushBlob(base, repo, data);
  });

  async function getRange(range: string, method = "GET"): Promise<Response> {
    return fetch(blobUrl(repo, d), { method, headers: { Range: range } });
  }

  async function expectPartial(range: string, start: number, end: number): Promise<void> {
    const res = await getRange(range);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 206, range);
    assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/${data.length}`, range);
    assert.equal(res.headers.get("content-length"), String(end - start + 1), range);
    assert.equal(res.headers.get("docker-content-digest"), d);
    assert.ok(body.equals(data.subarray(start, end + 1)), `body of ${range}`);
  }

  test("a closed range answers 206 with Content-Range and exactly those bytes", async () => {
    await expectPartial("bytes=0-9", 0, 9);
    await expectPartial("bytes=100-1099", 100, 1099);
    await expectPartial("bytes=4095-4095", 4095, 4095);
  });

  test("an open-ended range runs to the end", async () => {
    await expectPartial("bytes=4000-", 4000, 4095);
    await expectPartial("bytes=0-", 0, 4095);
  });

  test("a range past the end is cut to the blob's size", async () => {
    await expectPartial("bytes=4090-99999", 4090, 4095);
  });

  test("suffix ranges serve the last bytes", async () => {
    await expectPartial("bytes=-7", 4089, 4095);
    await expectPartial("bytes=-1", 4095, 4095);
    // A suffix longer than the blob serves the whole blob.
    await expectPartial("bytes=-100000", 0, 4095);
  });

  test("HEAD with a Range answers 206 without a body", async () => {
    const res = await getRange("bytes=10-19", "HEAD");
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), `bytes 10-19/${data.length}`);
    assert.equal(res.headers.get("content-length"), "10");
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test("unsatisfiable ranges answer 416 with Content-Range bytes */size", async () => {
    for (const range of ["bytes=4096-", "bytes=5000-6000", "bytes=-0"]) {
      const res = await getRange(range);
      await res.arrayBuffer();
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get("content-range"), `bytes */${data.length}`, range);
    }
  });

  test("a malformed Range header is ignored and the whole blob served", async () => {
    for (const range of ["bytes=a-b", "items=0-1", "bytes=9-1"]) {
      const res = await getRange(range);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, range);
      assert.ok(body.equals(data), range);
    }
  });

  test("any range of an empty blob is unsatisfiable", async () => {
    const ed = await pushBlob(base, repo, Buffer.alloc(0));
    const res = await fetch(blobUrl(repo, ed), { headers: { Range: "bytes=0-" } });
    await res.arrayBuffer();
    assert.equal(res.status, 416);
    assert.equal(res.headers.get("content-range"), "bytes */0");
  });
});

describe("DELETE a blob", () => {
  test("answers 202, then the blob is unknown", async () => {
    const repo = uniqueRepo("delete");
    const d = await pushBlob(base, repo, randomBlob(1000));
    const res = await fetch(blobUrl(repo, d), { method: "DELETE" });
    await res.arrayBuffer();
    assert.equal(res.status, 202);
    await expectError(await fetch(blobUrl(repo, d)), 404, "BLOB_UNKNOWN");
    const head = await fetch(blobUrl(repo, d), { method: "HEAD" });
    assert.equal(head.status, 404);
    await expectError(await fetch(blobUrl(repo, d), { method: "DELETE" }), 404, "BLOB_UNKNOWN");
  });

  test("deleting in one repository leaves the blob in another", async () => {
    const data = randomBlob(2000);
    const a = uniqueRepo("delete");
    const b = uniqueRepo("delete");
    const d = await pushBlob(base, a, data);
    await pushBlob(base, b, data);
    const res = await fetch(blobUrl(a, d), { method: "DELETE" });
    assert.equal(res.status, 202);
    await expectError(await fetch(blobUrl(a, d)), 404, "BLOB_UNKNOWN");
    const kept = await fetch(blobUrl(b, d));
    assert.equal(kept.status, 200);
    assert.ok(Buffer.from(await kept.arrayBuffer()).equals(data));
  });

  test("a deleted blob can be pushed again", async () => {
    const repo = uniqueRepo("delete");
    const data = randomBlob(3000);
    const d = await pushBlob(base, repo, data);
    assert.equal((await fetch(blobUrl(repo, d), { method: "DELETE" })).status, 202);
    assert.equal(await pushBlob(base, repo, data), d);
    const res = await fetch(blobUrl(repo, d));
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
  });
});

describe("unknown and malformed digests", () => {
  const repo = uniqueRepo("digests");

  before(async () => {
    await pushBlob(base, repo, randomBlob(10));
  });

  test("an unknown blob is 404 BLOB_UNKNOWN for GET and DELETE, 404 for HEAD", async () => {
    const d = digest(randomBlob(32));
    await expectError(await fetch(blobUrl(repo, d)), 404, "BLOB_UNKNOWN");
    await expectError(await fetch(blobUrl(repo, d), { method: "DELETE" }), 404, "BLOB_UNKNOWN");
    const head = await fetch(blobUrl(repo, d), { method: "HEAD" });
    assert.equal(head.status, 404);
    const sha512 = digest(randomBlob(32), "sha512");
    await expectError(await fetch(blobUrl(repo, sha512)), 404, "BLOB_UNKNOWN");
  });

  const hex = sha256Hex("x");
  const malformed = [
    "notadigest",
    "sha256",
    "sha256:",
    `sha256:${hex.slice(1)}`,
    `sha256:${hex}0`,
    `sha256:${hex.toUpperCase()}`,
    `sha256:${hex.slice(2)}zz`,
    `sha512:${hex}`,
    `:${hex}`,
    `SHA256:${hex}`,
    `sha256:${hex}%00`,
    "sha256:..%2F..%2Fetc",
  ];

  test("malformed digests are 400 DIGEST_INVALID, never 500", async () => {
    for (const d of malformed) {
      for (const method of ["GET", "DELETE"]) {
        const res = await fetch(blobUrl(repo, d), { method });
        await expectError(res, 400, "DIGEST_INVALID").catch((err: Error) => {
          throw new Error(`${method} ${d}: ${err.message}`);
        });
      }
      const head = await fetch(blobUrl(repo, d), { method: "HEAD" });
      assert.equal(head.status, 400, `HEAD ${d}`);
    }
    assertNoServerErrors();
  });

  test("an unknown algorithm is 400 DIGEST_INVALID", async () => {
    for (const d of [`md5:${"0".repeat(32)}`, `sha1:${"a".repeat(40)}`, `blake3:${hex}`]) {
      await expectError(await fetch(blobUrl(repo, d)), 400, "DIGEST_INVALID");
      const head = await fetch(blobUrl(repo, d), { method: "HEAD" });
      assert.equal(head.status, 400, `HEAD ${d}`);
    }
  });
});

describe("invalid repository names", () => {
  const d = digest("anything");
  const invalid = [
    "Upper/case",
    "UPPER",
    "a".repeat(256),
    `${"abc/".repeat(64)}a`,
    "-leading",
    "trailing-",
    "a//b",
    "a__-b",
    "a..b",
    "sp%20ace",
    "a%2Fb",
    "a%2e%2e/b",
  ];

  test("are 400 NAME_INVALID for GET, HEAD and DELETE", async () => {
    for (const name of invalid) {
      for (const method of ["GET", "DELETE"]) {
        const res = await fetch(`${base}/v2/${name}/blobs/${d}`, { method });
        await expectError(res, 400, "NAME_INVALID").catch((err: Error) => {
          throw new Error(`${method} ${name.slice(0, 40)}: ${err.message}`);
        });
      }
      const head = await fetch(`${base}/v2/${name}/blobs/${d}`, { method: "HEAD" });
      assert.equal(head.status, 400, `HEAD ${name.slice(0, 40)}`);
    }
  });

  test("a 255-character name is still valid", async () => {
    const name = `${"a".repeat(127)}/${"b".repeat(127)}`;
    assert.equal(name.length, 255);
    await expectError(await fetch(`${base}/v2/${name}/blobs/${d}`), 404, "BLOB_UNKNOWN");
  });

  test("path traversal with .. is refused, raw or percent-encoded", async () => {
    // fetch normalises dot segments away, so these go out over a raw connection as written.
    const paths = [
      `/v2/a/../b/blobs/${d}`,
      `/v2/../../etc/blobs/${d}`,
      `/v2/a/%2e%2e/b/blobs/${d}`,
      `/v2/a/%2E%2E%2Fb/blobs/${d}`,
      `/v2/..%2f..%2fetc/blobs/${d}`,
      `/v2/a/b/../../../../blobs/${d}`,
      `/v2/a/./b/blobs/${d}`,
    ];
    for (const path of paths) {
      const res = await rawRequest(base, "GET", path);
      assert.equal(res.status, 400, `${path}: ${res.body}`);
      assert.match(res.body, /"NAME_INVALID"/, path);
    }
    assertNoServerErrors();
  });

  test("upload endpoints refuse invalid names too", async () => {
    for (const name of ["Upper/case", "a".repeat(256), "a%2e%2e/b"]) {
      const res = await fetch(`${base}/v2/${name}/blobs/uploads/`, { method: "POST" });
      await expectError(res, 400, "NAME_INVALID");
    }
    const res = await rawRequest(base, "POST", "/v2/a/../b/blobs/uploads/", { "Content-Length": "0" });
    assert.equal(res.status, 400);
    assert.match(res.body, /NAME_INVALID/);
  });
});
