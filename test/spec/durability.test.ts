/** Durability over real processes: restarts, kill -9 mid-upload, SIGTERM, stalled clients, expired sessions. */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import type { Socket } from "node:net";
import { startWharf, type TestServer } from "../helpers/server.js";
import { testBackend, filesystemOnly } from "../helpers/backends.js";
import {
  bytes,
  digest,
  expectError,
  parseRawResponse,
  pushBlob,
  pushManifest,
  randomBlob,
  rawConnect,
  readAll,
  resolveLocation,
  sleep,
  startUpload,
  uniqueRepo,
  waitFor,
  withDigest,
} from "./support.js";

const MiB = 1024 * 1024;
const dataDirs: string[] = [];
const servers: TestServer[] = [];

async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "wharf-durability-"));
  dataDirs.push(dir);
  return dir;
}

async function start(dataDir: string, env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startWharf({ dataDir, env });
  servers.push(server);
  return server;
}

after(async () => {
  for (const server of servers) await server.stop().catch(() => undefined);
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

function uploadsDir(dataDir: string): string {
  return join(dataDir, "storage", "uploads");
}

function blobsDir(dataDir: string): string {
  return join(dataDir, "storage", "blobs");
}

/** Every regular file under `dir`, relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  // Only a missing directory counts as empty: any other error must fail the test, not hide the files.
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Files under blobs/ must all be committed blobs: `<alg>/<first two hex>/<hex>`, nothing temporary. */
async function assertOnlyCommittedBlobs(dataDir: string, expected: string[]): Promise<void> {
  const files = await listFiles(blobsDir(dataDir));
  for (const file of files) {
    const [algorithm, prefix, hex, ...rest] = file.split(sep);
    assert.equal(rest.length, 0, `unexpected nesting: ${file}`);
    assert.ok(algorithm === "sha256" || algorithm === "sha512", `unexpected file ${file}`);
    assert.match(hex ?? "", algorithm === "sha256" ? /^[a-f0-9]{64}$/ : /^[a-f0-9]{128}$/, file);
    assert.equal(prefix, hex?.slice(0, 2), file);
  }
  const present = files.map((f) =>
    f
      .split(sep)
      .join(":")
      .replace(/:[a-f0-9]{2}:/, ":"),
  );
  assert.deepEqual(present.sort(), [...expected].sort());
}

async function blobStatus(base: string, repo: string, d: string): Promise<number> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${d}`, { method: "HEAD" });
  return res.status;
}

async function expectBlob(base: string, repo: string, data: Buffer, d = digest(data)): Promise<void> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${d}`);
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `GET ${d} in ${repo}`);
  assert.ok(body.equals(data), "stored bytes are the pushed bytes");
}

async function uploadRange(location: string): Promise<string | null> {
  const res = await fetch(location);
  await res.arrayBuffer();
  assert.equal(res.status, 204, `upload status of ${location}`);
  return res.headers.get("range");
}

/** Bytes a Range header `0-<last>` stands for (`0-0` is ambiguous; pass the known minimum). */
function rangeBytes(range: string | null): number {
  const match = /^0-(\d+)$/.exec(range ?? "");
  assert.ok(match, `Range ${range}`);
  return Number(match[1]) + 1;
}

/** Opens a raw request and sends its headers and the first part of a body announced as `announced` bytes. */
async function beginRawUpload(
  server: TestServer,
  method: string,
  path: string,
  announced: number,
  part: Buffer,
): Promise<Socket> {
  const socket = await rawConnect(server.url);
  socket.on("error", () => undefined);
  socket.write(
    `${method} ${path} HTTP/1.1\r\nHost: ${server.host}\r\nConnection: close\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${announced}\r\n\r\n`,
  );
  socket.write(part);
  return socket;
}

/** Waits until some upload file in the data dir holds at least `bytes`: the server is mid-write. */
async function waitForUploadBytes(dataDir: string, bytes: number): Promise<void> {
  await waitFor(
    async () => {
      for (const file of await listFiles(uploadsDir(dataDir))) {
        const info = await stat(join(uploadsDir(dataDir), file)).catch(() => null);
        if (info && info.size >= bytes) return true;
      }
      return false;
    },
    10_000,
    `an upload file of ${bytes} bytes`,
  );
}

async function kill9(server: TestServer): Promise<void> {
  const exited = once(server.process, "exit");
  server.process.kill("SIGKILL");
  await exited;
  assert.equal(server.process.signalCode, "SIGKILL");
}

async function exitOf(server: TestServer, timeoutMs: number): Promise<number | null> {
  if (server.process.exitCode !== null || server.process.signalCode !== null) return server.process.exitCode;
  const timer = setTimeout(() => server.process.kill("SIGKILL"), timeoutMs);
  const [code] = (await once(server.process, "exit")) as [number | null];
  clearTimeout(timer);
  assert.notEqual(server.process.signalCode, "SIGKILL", `the server did not exit within ${timeoutMs} ms`);
  return code;
}

describe("restart", { skip: filesystemOnly("checks the blob and upload files left after a restart") }, () => {
  test("blobs, manifests, tags and open sessions survive a restart", async () => {
    const dataDir = await freshDataDir();
    const repo = uniqueRepo("restart");
    const first = await start(dataDir);
    const layer = randomBlob(300_000);
    const big512 = randomBlob(100_000);
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
    const layerDigest = await pushBlob(first.url, repo, layer);
    const d512 = await pushBlob(first.url, repo, big512, "sha512");
    const configDigest = await pushBlob(first.url, repo, config);
    const manifest = await pushManifest(
      first.url,
      repo,
      "v1",
      { digest: configDigest, size: config.length },
      [{ digest: layerDigest, size: layer.length }],
    );
    const pending = randomBlob(50_000);
    const location = await startUpload(first.url, repo);
    const res = await fetch(location, { method: "PATCH", body: bytes(pending.subarray(0, 20_000)) });
    assert.equal(res.status, 202);
    const sessionPath = new URL(location).pathname;
    await first.stop({ keepData: true });
    assert.equal(first.process.exitCode, 0);

    const second = await start(dataDir);
    await expectBlob(second.url, repo, layer);
    await expectBlob(second.url, repo, big512, d512);
    const byTag = await fetch(`${second.url}/v2/${repo}/manifests/v1`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(byTag.status, 200);
    assert.equal(byTag.headers.get("docker-content-digest"), manifest.digest);
    assert.ok(Buffer.from(await byTag.arrayBuffer()).equals(manifest.body));
    const byDigest = await fetch(`${second.url}/v2/${repo}/manifests/${manifest.digest}`, { method: "HEAD" });
    assert.equal(byDigest.status, 200);
    const tags = (await (await fetch(`${second.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ["v1"]);

    // The half-done upload resumes where it stopped.
    const resumed = `${second.url}${sessionPath}`;
    assert.equal(await uploadRange(resumed), "0-19999");
    const put = await fetch(withDigest(resumed, digest(pending)), {
      method: "PUT",
      headers: { "Content-Range": "20000-49999" },
      body: bytes(pending.subarray(20_000)),
    });
    assert.equal(put.status, 201);
    await expectBlob(second.url, repo, pending);
    await assertOnlyCommittedBlobs(dataDir, [layerDigest, d512, configDigest, digest(pending)]);
    await second.stop({ keepData: true });
  });
});

describe(
  "kill -9 during an upload",
  { skip: filesystemOnly("checks the upload files a crash leaves"), concurrency: true },
  () => {
    test("a monolithic POST: no blob, no stray data, and the blob can be pushed afterwards", async () => {
      const dataDir = await freshDataDir();
      const repo = uniqueRepo("kill");
      const first = await start(dataDir);
      const kept = randomBlob(1000);
      const keptDigest = await pushBlob(first.url, repo, kept);
      const data = randomBlob(8 * MiB);
      const d = digest(data);
      const socket = await beginRawUpload(
        first,
        "POST",
        `/v2/${repo}/blobs/uploads/?digest=${d}`,
        data.length,
        data.subarray(0, 3 * MiB),
      );
      await waitForUploadBytes(dataDir, MiB);
      await kill9(first);
      socket.destroy();
      // What a crash between creating upload data and recording its session would leave.
      await writeFile(join(uploadsDir(dataDir), "0f0e0d0c-orphan-upload"), "stray");
      // Old enough that no node can still be about to record its session.
      await backdate(join(uploadsDir(dataDir), "0f0e0d0c-orphan-upload"));

      const second = await start(dataDir);
      assert.equal(await blobStatus(second.url, repo, d), 404);
      await assertOnlyCommittedBlobs(dataDir, [keptDigest]);
      const uploads = await listFiles(uploadsDir(dataDir));
      assert.ok(!uploads.includes("0f0e0d0c-orphan-upload"), "orphaned upload data is removed at start-up");
      // What remains are sessions the registry knows (and will expire), not orphaned files.
      for (const id of uploads) {
        const res = await fetch(`${second.url}/v2/${repo}/blobs/uploads/${id}`);
        await res.arrayBuffer();
        assert.equal(res.status, 204, `upload data ${id} belongs to a live session`);
      }
      await pushBlob(second.url, repo, data);
      await expectBlob(second.url, repo, data);
      await expectBlob(second.url, repo, kept);
      await assertOnlyCommittedBlobs(dataDir, [keptDigest, d]);
      await second.stop({ keepData: true });
    });

    test("a streamed PATCH: the session survives, resumes from its reported offset and completes", async () => {
      const dataDir = await freshDataDir();
      const repo = uniqueRepo("kill");
      const first = await start(dataDir);
      const data = randomBlob(8 * MiB);
      const location = await startUpload(first.url, repo);
      const head = await fetch(location, { method: "PATCH", body: bytes(data.subarray(0, MiB)) });
      assert.equal(head.status, 202);
      const path = new URL(location).pathname;
      const socket = await beginRawUpload(first, "PATCH", path, 7 * MiB, data.subarray(MiB, 4 * MiB));
      await waitForUploadBytes(dataDir, 2 * MiB);
      await kill9(first);
      socket.destroy();

      const second = await start(dataDir);
      const resumed = `${second.url}${path}`;
      assert.equal(await blobStatus(second.url, repo, digest(data)), 404);
      await assertOnlyCommittedBlobs(dataDir, []);
      const held = rangeBytes(await uploadRange(resumed));
      assert.ok(held >= MiB && held <= 4 * MiB, `session holds ${held} bytes`);
      // Alone on its SQLite file the restarted server released the dead one's write lease at start; on a
      // shared database it cannot know the writer is dead, so the lease lapses (15 s) before the resume.
      let put: Response;
      let text: string;
      const deadline = Date.now() + 30_000;
      for (;;) {
        put = await fetch(withDigest(resumed, digest(data)), {
          method: "PUT",
          headers: { "Content-Range": `${held}-${data.length - 1}` },
          body: bytes(data.subarray(held)),
        });
        text = await put.text();
        if (put.status !== 416 || !/another request is writing/.test(text) || Date.now() > deadline) break;
        assert.notEqual(testBackend(), "embedded", "the embedded server released the lease at start");
        await sleep(1000);
      }
      assert.equal(put.status, 201, text);
      await expectBlob(second.url, repo, data);
      await assertOnlyCommittedBlobs(dataDir, [digest(data)]);
      assert.deepEqual(await listFiles(uploadsDir(dataDir)), [], "a completed upload leaves no data behind");
      await second.stop({ keepData: true });
    });
  },
);

describe(
  "damaged or untidy data directories",
  { skip: filesystemOnly("puts stray files into the uploads directory"), concurrency: true },
  () => {
    test("stray entries in the uploads directory do not stop start-up; orphaned upload data goes", async () => {
      const dataDir = await freshDataDir();
      const first = await start(dataDir);
      await first.stop({ keepData: true });
      const uploads = uploadsDir(dataDir);
      await writeFile(join(uploads, "notes.txt"), "not an upload");
      await writeFile(join(uploads, ".hidden"), "not an upload either");
      await mkdir(join(uploads, "lost+found"));
      await mkdir(join(uploads, "a1b2c3d4-directory"));
      await writeFile(join(uploads, "a1b2c3d4-orphan"), "orphaned upload data");
      await backdate(join(uploads, "a1b2c3d4-orphan"));
      // A fresh one may be an upload another node is creating right now: it stays.
      await writeFile(join(uploads, "a1b2c3d4-fresh"), "upload data being created");

      const second = await start(dataDir);
      const remaining = await readdir(uploads);
      assert.ok(!remaining.includes("a1b2c3d4-orphan"), "orphaned upload data is removed");
      for (const name of ["notes.txt", ".hidden", "lost+found", "a1b2c3d4-directory", "a1b2c3d4-fresh"]) {
        assert.ok(remaining.includes(name), `${name} is not the registry's to delete`);
      }
      const repo = uniqueRepo("stray");
      const data = randomBlob(1000);
      await pushBlob(second.url, repo, data);
      await expectBlob(second.url, repo, data);
      await second.stop({ keepData: true });
    });

    test("a blob lost from storage is unknown to HEAD and GET alike, and can be pushed again", async () => {
      const dataDir = await freshDataDir();
      const server = await start(dataDir);
      const repo = uniqueRepo("lost");
      const data = randomBlob(50_000);
      const d = await pushBlob(server.url, repo, data);
      const hex = d.slice("sha256:".length);
      await rm(join(blobsDir(dataDir), "sha256", hex.slice(0, 2), hex));
      assert.equal(await blobStatus(server.url, repo, d), 404, "HEAD must not claim a blob GET cannot serve");
      await expectError(await fetch(`${server.url}/v2/${repo}/blobs/${d}`), 404, "BLOB_UNKNOWN");
      await pushBlob(server.url, repo, data);
      await expectBlob(server.url, repo, data);
      await server.stop({ keepData: true });
    });
  },
);

describe(
  "SIGTERM",
  { skip: filesystemOnly("checks the upload files a stop leaves"), concurrency: true },
  () => {
    test("an in-flight upload completes and the server then exits 0", async () => {
      const dataDir = await freshDataDir();
      const repo = uniqueRepo("term");
      const server = await start(dataDir);
      // An idle keep-alive connection must not hold the shutdown up.
      assert.equal((await fetch(`${server.url}/v2/`)).status, 200);
      const data = randomBlob(4 * MiB);
      const d = digest(data);
      const socket = await beginRawUpload(
        server,
        "POST",
        `/v2/${repo}/blobs/uploads/?digest=${d}`,
        data.length,
        data.subarray(0, MiB),
      );
      await waitForUploadBytes(dataDir, MiB);
      const response = readAll(socket);
      server.process.kill("SIGTERM");
      await sleep(300);
      assert.equal(server.process.exitCode, null, "the server waits for the in-flight request");
      socket.write(data.subarray(MiB));
      const res = parseRawResponse(await response);
      assert.equal(res.status, 201, res.body);
      assert.equal(res.headers["docker-content-digest"], d);
      assert.equal(await exitOf(server, 20_000), 0);

      const again = await start(dataDir);
      await expectBlob(again.url, repo, data);
      await again.stop({ keepData: true });
    });

    test("a stalled in-flight upload is cut at the shutdown timeout and leaves no blob", async () => {
      const dataDir = await freshDataDir();
      const repo = uniqueRepo("term");
      const server = await start(dataDir, { WHARF_SHUTDOWN_TIMEOUT: "1s" });
      const data = randomBlob(2 * MiB);
      const d = digest(data);
      const socket = await beginRawUpload(
        server,
        "POST",
        `/v2/${repo}/blobs/uploads/?digest=${d}`,
        data.length,
        data.subarray(0, MiB),
      );
      await waitForUploadBytes(dataDir, MiB);
      server.process.kill("SIGTERM");
      // The stalled client would hold the server forever; the 1 s shutdown timeout must cut it.
      await exitOf(server, 20_000);
      socket.destroy();

      const again = await start(dataDir);
      assert.equal(await blobStatus(again.url, repo, d), 404);
      await assertOnlyCommittedBlobs(dataDir, []);
      await pushBlob(again.url, repo, data);
      await expectBlob(again.url, repo, data);
      await again.stop({ keepData: true });
    });
  },
);

describe(
  "stalled clients and expired sessions",
  { skip: filesystemOnly("checks upload files are removed"), concurrency: true },
  () => {
    let idle: TestServer;
    let ttl: TestServer;

    before(async () => {
      [idle, ttl] = await Promise.all([
        freshDataDir().then((dir) => start(dir, { WHARF_IDLE_TIMEOUT: "1s" })),
        freshDataDir().then((dir) => start(dir, { WHARF_UPLOAD_TTL: "2s" })),
      ]);
    });

    test("a client that stalls mid-chunk is disconnected and the session is not corrupted", async () => {
      const repo = uniqueRepo("stall");
      const data = randomBlob(200_000);
      const location = await startUpload(idle.url, repo);
      const first = await fetch(location, { method: "PATCH", body: bytes(data.subarray(0, 50_000)) });
      assert.equal(first.status, 202);
      const socket = await beginRawUpload(
        idle,
        "PATCH",
        new URL(location).pathname,
        150_000,
        data.subarray(50_000, 80_000),
      );
      const began = Date.now();
      await once(socket, "close");
      const waited = Date.now() - began;
      assert.ok(waited >= 500 && waited < 5000, `disconnected after ${waited} ms`);
      await waitFor(
        async () => (await uploadRange(location)) === "0-49999",
        3000,
        "the stalled chunk to be rolled back",
      );
      // The stalled request may still hold the session's write lease while it winds down (its rollback
      // is already visible): a second writer is told so (416) until it lets go, then the upload completes.
      let put: Response | undefined;
      for (let attempt = 0; attempt < 50; attempt++) {
        put = await fetch(withDigest(location, digest(data)), {
          method: "PUT",
          headers: { "Content-Range": "50000-199999" },
          body: bytes(data.subarray(50_000)),
        });
        if (put.status !== 416 || !(await put.clone().text()).includes("another request is writing")) break;
        await sleep(100);
      }
      assert.equal(put?.status, 201, await put?.text());
      await expectBlob(idle.url, repo, data);
    });

    test("a connection that never sends a request is closed", async () => {
      const socket = await rawConnect(idle.url);
      const began = Date.now();
      await once(socket, "close");
      assert.ok(Date.now() - began < 5000);
    });

    test("a slow but steady upload is not cut by the idle timeout", async () => {
      const repo = uniqueRepo("stall");
      const data = randomBlob(60_000);
      const d = digest(data);
      const socket = await beginRawUpload(
        idle,
        "POST",
        `/v2/${repo}/blobs/uploads/?digest=${d}`,
        data.length,
        data.subarray(0, 10_000),
      );
      const response = readAll(socket);
      for (let offset = 10_000; offset < data.length; offset += 10_000) {
        await sleep(500);
        socket.write(data.subarray(offset, offset + 10_000));
      }
      const res = parseRawResponse(await response);
      assert.equal(res.status, 201, res.body);
      await expectBlob(idle.url, repo, data);
    });

    test("an idle upload session expires and its data is deleted", async () => {
      const repo = uniqueRepo("ttl");
      const location = await startUpload(ttl.url, repo);
      const patched = await fetch(location, { method: "PATCH", body: bytes(randomBlob(10_000)) });
      assert.equal(patched.status, 202);
      const id = location.split("/").pop() ?? "";
      assert.ok((await listFiles(uploadsDir(ttl.dataDir))).includes(id), "the session has data on disk");
      await waitFor(
        async () => {
          const res = await fetch(location);
          await res.arrayBuffer();
          return res.status === 404;
        },
        8000,
        "the session to expire",
      );
      await expectError(await fetch(location), 404, "BLOB_UPLOAD_UNKNOWN");
      assert.ok(!(await listFiles(uploadsDir(ttl.dataDir))).includes(id), "its data is deleted");
    });

    test("a session kept busy outlives the TTL", async () => {
      const repo = uniqueRepo("ttl");
      const data = randomBlob(8 * 4000);
      let location = await startUpload(ttl.url, repo);
      for (let offset = 0; offset < data.length; offset += 4000) {
        const res = await fetch(location, {
          method: "PATCH",
          headers: { "Content-Range": `${offset}-${offset + 3999}` },
          body: bytes(data.subarray(offset, offset + 4000)),
        });
        await res.arrayBuffer();
        assert.equal(res.status, 202, `chunk at ${offset}`);
        location = resolveLocation(ttl.url, res.headers.get("location"));
        await sleep(500);
      }
      const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
      assert.equal(put.status, 201);
      await expectBlob(ttl.url, repo, data);
    });
  },
);

/** Upload data from an hour ago: past the grace in which a node may be about to record its session. */
async function backdate(path: string): Promise<void> {
  const hourAgo = new Date(Date.now() - 3600_000);
  await utimes(path, hourAgo, hourAgo);
}
