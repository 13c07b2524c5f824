/** A stored blob file that went bad on disk is repaired by pushing the blob again, by any upload path. */
import { filesystemOnly } from "../helpers/backends.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { startWharf, type TestServer } from "../helpers/server.js";
import { bytes, digest, pushBlob, randomBlob, startUpload, uniqueRepo, withDigest } from "./support.js";
import { blobFile } from "./storage-support.js";

let server: TestServer;
let base: string;

before(async () => {
  server = await startWharf();
  base = server.url;
});

after(async () => {
  await server?.stop();
});

/** Overwrites the stored file with other bytes of the same size, as a failing disk might. */
async function corrupt(d: string): Promise<void> {
  const path = blobFile(server.dataDir, d);
  const stored = await readFile(path);
  await writeFile(path, Buffer.from(stored.map((b) => b ^ 0xff)));
}

async function served(repo: string, d: string): Promise<Buffer> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${d}`);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

describe(
  "re-pushing a blob whose stored file no longer matches its digest",
  { skip: filesystemOnly("damages blob files") },
  () => {
    test("a monolithic push repairs it", async () => {
      const repo = uniqueRepo("repair");
      const data = randomBlob(100_000);
      const d = await pushBlob(base, repo, data);
      await corrupt(d);
      assert.ok(!(await served(repo, d)).equals(data), "the corruption is what GET served");
      assert.equal(await pushBlob(base, repo, data), d);
      assert.ok((await served(repo, d)).equals(data), "after the re-push GET serves the right bytes");
      assert.ok((await readFile(blobFile(server.dataDir, d))).equals(data), "and the file holds them");
    });

    test("a chunked push repairs it, also from another repository", async () => {
      const first = uniqueRepo("repair");
      const second = uniqueRepo("repair");
      const data = randomBlob(300_000);
      const d = await pushBlob(base, first, data);
      await corrupt(d);
      const location = await startUpload(base, second);
      for (const [start, end] of [
        [0, 149_999],
        [150_000, 299_999],
      ] as const) {
        const res = await fetch(location, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream", "Content-Range": `${start}-${end}` },
          body: bytes(data.subarray(start, end + 1)),
        });
        await res.arrayBuffer();
        assert.equal(res.status, 202);
      }
      const put = await fetch(withDigest(location, digest(data)), { method: "PUT" });
      await put.arrayBuffer();
      assert.equal(put.status, 201);
      assert.ok((await served(second, d)).equals(data));
      assert.ok(
        (await served(first, d)).equals(data),
        "the one stored copy is repaired for every repository",
      );
    });
  },
);
