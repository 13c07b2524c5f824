/**
 * The tag list's ETag: it changes whenever any tag of the repository does (not only those on the page
 * asked for), and If-None-Match with the current one answers 304 with no body. This is what makes a
 * `wharf watch` poll one small conditional request.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import { OCI_MANIFEST, pushImage, putManifest, uniqueRepo } from "./manifest-support.js";

let server: TestServer;

before(async () => {
  server = await startWharf();
});
after(async () => {
  await server?.stop();
});

/** GET of the one-tag first page, conditional on `etag` when given. */
async function firstPage(
  repo: string,
  etag?: string,
): Promise<{ status: number; etag: string; body: string }> {
  const res = await fetch(`${server.url}/v2/${repo}/tags/list?n=1`, {
    headers: etag ? { "If-None-Match": etag } : {},
  });
  const body = await res.text();
  const tag = res.headers.get("etag");
  assert.ok(tag, `no ETag (status ${res.status})`);
  return { status: res.status, etag: tag, body };
}

describe("tag list ETag", () => {
  test("unchanged → 304; a tag added, moved or deleted anywhere in the repository → 200 with a new ETag", async () => {
    const repo = uniqueRepo("etag");
    const a = await pushImage(server.url, repo, "a-first");
    const b = await pushImage(server.url, repo, "z-last");

    const start = await firstPage(repo);
    assert.equal(start.status, 200);
    assert.deepEqual(JSON.parse(start.body), { name: repo, tags: ["a-first"] });

    const same = await firstPage(repo, start.etag);
    assert.equal(same.status, 304);
    assert.equal(same.body, "");
    assert.equal(same.etag, start.etag);

    // A tag after the first page: the page's content is the same, its ETag is not.
    const put = await putManifest(server.url, repo, "m-middle", b.body, OCI_MANIFEST);
    assert.equal(put.status, 201);
    const added = await firstPage(repo, start.etag);
    assert.equal(added.status, 200);
    assert.deepEqual(JSON.parse(added.body), { name: repo, tags: ["a-first"] });
    assert.notEqual(added.etag, start.etag);
    assert.equal((await firstPage(repo, added.etag)).status, 304);

    // The same tag set, one tag moved to another manifest.
    assert.equal((await putManifest(server.url, repo, "m-middle", a.body, OCI_MANIFEST)).status, 201);
    const moved = await firstPage(repo, added.etag);
    assert.equal(moved.status, 200);
    assert.notEqual(moved.etag, added.etag);

    const deleted = await fetch(`${server.url}/v2/${repo}/manifests/z-last`, { method: "DELETE" });
    await deleted.arrayBuffer();
    assert.equal(deleted.status, 202);
    const afterDelete = await firstPage(repo, moved.etag);
    assert.equal(afterDelete.status, 200);
    assert.notEqual(afterDelete.etag, moved.etag);
  });

  test("the first page of each repository has its own ETag; later pages have none", async () => {
    const one = uniqueRepo("etag");
    const two = uniqueRepo("etag");
    const image = await pushImage(server.url, one, "v1");
    assert.equal((await putManifest(server.url, one, "v2", image.body, OCI_MANIFEST)).status, 201);
    await pushImage(server.url, two, "v1");
    const first = await firstPage(one);
    const other = await firstPage(two, first.etag);
    assert.equal(other.status, 200, "an ETag of another repository does not match");
    assert.notEqual(other.etag, first.etag);
    const later = await fetch(`${server.url}/v2/${one}/tags/list?n=1&last=v1`, {
      headers: { "If-None-Match": first.etag },
    });
    assert.equal(later.status, 200);
    assert.deepEqual(await later.json(), { name: one, tags: ["v2"] });
    assert.equal(later.headers.get("etag"), null);
  });
});
