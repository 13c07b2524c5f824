/**
 * Full storage: a real, small tmpfs mounted as the data directory's storage. Uploads that do not fit
 * answer 507 naming storage, release their session and data, and what was stored before is served intact.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { embeddedOnly, filesystemOnly } from "../helpers/backends.js";
import { bytes, digest, randomBlob, startUpload, uniqueRepo, withDigest } from "./support.js";
import { expectError, pushImage } from "./manifest-support.js";
import { listFiles, sessionIds, uploadsDir } from "./storage-support.js";

const MiB = 1024 * 1024;
const STORAGE_SIZE = 4 * MiB;
const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : "needs root to mount a small tmpfs as the storage directory";

let server: TestServer | undefined;
let dataDir: string;
let storage: string;
let mounted = false;

before(async () => {
  if (!isRoot) return;
  dataDir = await mkdtemp(join(tmpdir(), "wharf-full-"));
  storage = join(dataDir, "storage");
  await mkdir(storage);
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${STORAGE_SIZE}`, "tmpfs", storage]);
  mounted = true;
  server = await startWharf({ dataDir });
});

after(async () => {
  await server?.stop({ keepData: true });
  if (mounted) execFileSync("umount", [storage]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function expectStorageFull(res: Response): Promise<void> {
  const errors = await expectError(res, 507, "UNKNOWN");
  assert.match(errors[0]?.message ?? "", /storage is full/);
}

async function assertNoUploads(what: string): Promise<void> {
  assert.deepEqual(await sessionIds(dataDir), [], `${what}: sessions`);
  assert.deepEqual(await listFiles(uploadsDir(dataDir)), [], `${what}: upload files`);
}

describe("disk full", { skip: filesystemOnly("fills the disk under the blob files") || skip }, () => {
  let base: string;
  let repo: string;
  let kept: Buffer;
  let image: Awaited<ReturnType<typeof pushImage>>;

  before(async () => {
    base = server!.url;
    repo = uniqueRepo("full");
    image = await pushImage(base, repo, "v1");
    kept = randomBlob(256 * 1024);
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest(kept)}`, {
      method: "POST",
      body: bytes(kept),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 201);
  });

  async function assertStoredIntact(): Promise<void> {
    const blob = await fetch(`${base}/v2/${repo}/blobs/${digest(kept)}`);
    assert.equal(blob.status, 200);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(kept), "the stored blob is intact");
    const manifest = await fetch(`${base}/v2/${repo}/manifests/v1`);
    assert.equal(manifest.status, 200);
    assert.ok(Buffer.from(await manifest.arrayBuffer()).equals(image.body), "the manifest is intact");
  }

  test("a monolithic upload larger than the free space is 507 and leaves no session or file", async () => {
    const big = randomBlob(2 * STORAGE_SIZE);
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest(big)}`, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: bytes(big),
    });
    await expectStorageFull(res);
    await assertNoUploads("monolithic");
    await assertStoredIntact();
  });

  test("a chunk that does not fit is 507 and releases its session", async () => {
    const location = await startUpload(base, repo);
    const first = randomBlob(MiB);
    const ok = await fetch(location, { method: "PATCH", body: bytes(first) });
    await ok.arrayBuffer();
    assert.equal(ok.status, 202);
    const res = await fetch(location, { method: "PATCH", body: bytes(randomBlob(2 * STORAGE_SIZE)) });
    await expectStorageFull(res);
    await expectError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
    await assertNoUploads("chunked");
    await assertStoredIntact();
  });

  test("a final chunk on PUT that does not fit is 507 and releases its session", async () => {
    const location = await startUpload(base, repo);
    const data = randomBlob(2 * STORAGE_SIZE);
    const res = await fetch(withDigest(location, digest(data)), { method: "PUT", body: bytes(data) });
    await expectStorageFull(res);
    await expectError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
    await assertNoUploads("final chunk");
  });

  test("the space released is usable again: a blob that fits is stored", async () => {
    const fits = randomBlob(2 * MiB);
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest(fits)}`, {
      method: "POST",
      body: bytes(fits),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 201);
    const got = await fetch(`${base}/v2/${repo}/blobs/${digest(fits)}`);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(fits));
    await assertStoredIntact();
    await assertNoUploads("after");
  });
});

/**
 * The metadata database on the full disk too: a tmpfs under the whole data directory, filled by a file
 * beside it, so SQLite's writes (its WAL grows until the first checkpoint) fail with SQLITE_FULL.
 */
describe(
  "disk full under the metadata database",
  { skip: skip || embeddedOnly("fills the disk under the SQLite file") },
  () => {
    let whole: string;
    let wholeServer: TestServer | undefined;
    let wholeMounted = false;
    const filler = () => join(whole, "filler");

    before(async () => {
      whole = await mkdtemp(join(tmpdir(), "wharf-full-db-"));
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${8 * MiB}`, "tmpfs", whole]);
      wholeMounted = true;
      wholeServer = await startWharf({ dataDir: whole });
    });

    after(async () => {
      await wholeServer?.stop({ keepData: true });
      if (wholeMounted) execFileSync("umount", [whole]);
      await rm(whole, { recursive: true, force: true });
    });

    /** Writes a file beside the data until the filesystem has not one byte left. */
    function fillDisk(): void {
      const fd = openSync(filler(), "a");
      const block = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(fd, block);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
      } finally {
        closeSync(fd);
      }
    }

    test("a blob committed but not linked answers 507, and its session is released", async () => {
      const base = wholeServer!.url;
      const repo = uniqueRepo("fulldb");
      const location = await startUpload(base, repo);
      const data = randomBlob(MiB);
      const patched = await fetch(location, { method: "PATCH", body: bytes(data) });
      await patched.arrayBuffer();
      assert.equal(patched.status, 202);
      fillDisk();
      try {
        // Committing is a rename (no space needed); linking the blob is a database write that fails.
        await expectStorageFull(await fetch(withDigest(location, digest(data)), { method: "PUT" }));
        await expectError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
        assert.deepEqual(await listFiles(uploadsDir(whole)), [], "upload files");
        await expectError(await fetch(`${base}/v2/${repo}/blobs/${digest(data)}`), 404, "BLOB_UNKNOWN");
      } finally {
        await rm(filler());
      }
      // With space again the same blob is pushed and served.
      const again = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest(data)}`, {
        method: "POST",
        body: bytes(data),
      });
      await again.arrayBuffer();
      assert.equal(again.status, 201);
      const got = await fetch(`${base}/v2/${repo}/blobs/${digest(data)}`);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
    });

    test("starting an upload session on a full database answers 507 and leaves no upload file", async () => {
      const base = wholeServer!.url;
      const repo = uniqueRepo("fulldb");
      const before = await sessionIds(whole);
      fillDisk();
      try {
        await expectStorageFull(await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" }));
        assert.deepEqual(await listFiles(uploadsDir(whole)), [], "upload files");
        assert.deepEqual(await sessionIds(whole), before, "sessions");
      } finally {
        await rm(filler());
      }
      const location = await startUpload(base, repo);
      assert.ok(location);
    });
  },
);
