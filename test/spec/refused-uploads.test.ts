/** A refused monolithic upload leaves no session and no upload file behind; open sessions are kept. */
import { filesystemOnly } from "../helpers/backends.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  bytes,
  digest,
  expectError,
  randomBlob,
  rawConnect,
  startUpload,
  uniqueRepo,
  waitFor,
} from "./support.js";
import { listFiles, sessionIds, uploadsDir } from "./storage-support.js";

let server: TestServer;
let base: string;
/** A session opened on purpose before the refused uploads: it must survive them. */
let openSession: string;
let openRepo: string;

before(async () => {
  server = await startWharf();
  base = server.url;
  openRepo = uniqueRepo("kept");
  const location = await startUpload(base, openRepo);
  openSession = location.split("/").at(-1) ?? "";
});

after(async () => {
  await server?.stop();
});

/** Only the session opened on purpose exists, in the database and as a file. */
function assertOnlyOpenSession(what: string): Promise<void> {
  return (async () => {
    assert.deepEqual(await sessionIds(server.dataDir), [openSession], `${what}: sessions`);
    assert.deepEqual(await listFiles(uploadsDir(server.dataDir)), [openSession], `${what}: upload files`);
  })();
}

function post(repo: string, query: string, data: Buffer, headers: Record<string, string> = {}) {
  return fetch(`${base}/v2/${repo}/blobs/uploads/${query}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream", ...headers },
    body: bytes(data),
  });
}

describe("refused monolithic uploads", { skip: filesystemOnly("checks no upload file is left") }, () => {
  test("a malformed or unsupported digest is refused before a session exists", async () => {
    const repo = uniqueRepo("refused");
    const data = randomBlob(5000);
    for (const bad of ["sha256:xyz", `md5:${"0".repeat(32)}`, "nonsense"]) {
      await expectError(await post(repo, `?digest=${bad}`, data), 400, "DIGEST_INVALID");
      await assertOnlyOpenSession(bad);
    }
  });

  test("a digest that does not match the body leaves nothing", async () => {
    const repo = uniqueRepo("refused");
    const data = randomBlob(70_000);
    const wrong = digest(randomBlob(10));
    await expectError(await post(repo, `?digest=${wrong}`, data), 400, "DIGEST_INVALID");
    await assertOnlyOpenSession("wrong digest");
  });

  test("a malformed or mismatched Content-Range leaves nothing", async () => {
    const repo = uniqueRepo("refused");
    const data = randomBlob(30);
    const d = digest(data);
    await expectError(
      await post(repo, `?digest=${d}`, data, { "Content-Range": "abc" }),
      400,
      "BLOB_UPLOAD_INVALID",
    );
    await assertOnlyOpenSession("malformed Content-Range");
    await expectError(
      await post(repo, `?digest=${d}`, data, { "Content-Range": "0-9" }),
      416,
      "BLOB_UPLOAD_INVALID",
    );
    await assertOnlyOpenSession("mismatched Content-Range");
  });

  test("a body cut short leaves nothing once the server has seen the end of it", async () => {
    const repo = uniqueRepo("refused");
    const data = randomBlob(200_000);
    const socket = await rawConnect(base);
    socket.on("error", () => undefined);
    socket.write(
      `POST /v2/${repo}/blobs/uploads/?digest=${digest(data)} HTTP/1.1\r\nHost: ${server.host}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`,
    );
    socket.write(data.subarray(0, 50_000));
    // The server is mid-upload: a second session (this one) exists besides the kept one.
    await waitFor(async () => (await sessionIds(server.dataDir)).length === 2, 10_000, "the upload session");
    socket.destroy();
    await waitFor(
      async () =>
        (await sessionIds(server.dataDir)).length === 1 &&
        (await listFiles(uploadsDir(server.dataDir))).length === 1,
      10_000,
      "the cut upload to be cleaned up",
    );
    await assertOnlyOpenSession("cut short");
  });

  test("the session opened on purpose still works", async () => {
    const data = randomBlob(1000);
    const put = await fetch(`${base}/v2/${openRepo}/blobs/uploads/${openSession}?digest=${digest(data)}`, {
      method: "PUT",
      body: bytes(data),
    });
    await put.arrayBuffer();
    assert.equal(put.status, 201);
    assert.deepEqual(await sessionIds(server.dataDir), []);
    assert.deepEqual(await listFiles(uploadsDir(server.dataDir)), []);
  });
});
