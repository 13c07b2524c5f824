/**
 * The tag list's ETag: it changes whenever any tag of the repository does (not only those on the page
 * asked for), and If-None-Match with the current one answers 304 with no body. This is what makes a
 * `wharf watch` poll one small conditional request. Every page has one (its own).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import { queryMetadata } from "../helpers/backends.js";
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

  test("a move that leaves the tag count and the latest updated_at as they were (a slow clock) → a new ETag", async () => {
    const repo = uniqueRepo("etag");
    const a = await pushImage(server.url, repo, "a-first");
    const b = await pushImage(server.url, repo, "z-last");
    assert.equal((await putManifest(server.url, repo, "m-middle", a.body, OCI_MANIFEST)).status, 201);
    const [row] = await queryMetadata<{ updated_at: string }>(
      server.dataDir,
      "select updated_at from tags where repository = ? and name = ?",
      [repo, "m-middle"],
    );
    assert.ok(row);
    const start = await firstPage(repo);

    // m-middle moves from a to b; its updated_at is set back to what it was, as a node whose clock is
    // behind would write it: the tag count, the latest updated_at and the first page are all unchanged.
    assert.equal((await putManifest(server.url, repo, "m-middle", b.body, OCI_MANIFEST)).status, 201);
    await queryMetadata(server.dataDir, "update tags set updated_at = ? where repository = ? and name = ?", [
      row.updated_at,
      repo,
      "m-middle",
    ]);
    const moved = await firstPage(repo, start.etag);
    assert.equal(moved.status, 200, "the move shows");
    assert.notEqual(moved.etag, start.etag);
  });

  test("an identical re-push changes nothing, so the ETag stays", async () => {
    const repo = uniqueRepo("etag");
    const a = await pushImage(server.url, repo, "latest");
    const start = await firstPage(repo);
    assert.equal((await putManifest(server.url, repo, "latest", a.body, OCI_MANIFEST)).status, 201);
    assert.equal((await firstPage(repo, start.etag)).status, 304);
  });

  test("each repository and each page has its own ETag", async () => {
    const one = uniqueRepo("etag");
    const two = uniqueRepo("etag");
    const image = await pushImage(server.url, one, "v1");
    assert.equal((await putManifest(server.url, one, "v2", image.body, OCI_MANIFEST)).status, 201);
    await pushImage(server.url, two, "v1");
    const first = await firstPage(one);
    const other = await firstPage(two, first.etag);
    assert.equal(other.status, 200, "an ETag of another repository does not match");
    assert.notEqual(other.etag, first.etag);
    const laterUrl = `${server.url}/v2/${one}/tags/list?n=1&last=v1`;
    const later = await fetch(laterUrl, { headers: { "If-None-Match": first.etag } });
    assert.equal(later.status, 200, "the first page's ETag does not match a later page");
    assert.deepEqual(await later.json(), { name: one, tags: ["v2"] });
    const laterTag = later.headers.get("etag");
    assert.ok(laterTag);
    assert.notEqual(laterTag, first.etag);
    const again = await fetch(laterUrl, { headers: { "If-None-Match": laterTag } });
    await again.arrayBuffer();
    assert.equal(again.status, 304);
    // A change anywhere changes every page's ETag.
    assert.equal((await putManifest(server.url, one, "v0", image.body, OCI_MANIFEST)).status, 201);
    const changed = await fetch(laterUrl, { headers: { "If-None-Match": laterTag } });
    await changed.arrayBuffer();
    assert.equal(changed.status, 200);
  });
});
