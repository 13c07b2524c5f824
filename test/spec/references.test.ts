/** Manifest references that are neither a tag nor a digest: unknown when looked up, invalid when stored. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import { expectError, pushImage, putManifest, sha256, uniqueRepo } from "./manifest-support.js";

let server: TestServer;
let url: string;

before(async () => {
  server = await startWharf();
  url = server.url;
});

after(async () => {
  await server?.stop();
});

/** What the OCI conformance suite uses, plus other references no tag or digest grammar accepts. */
const NEITHER_TAG_NOR_DIGEST = [
  ".INVALID_MANIFEST_NAME",
  "-leading-dash",
  "a".repeat(129),
  "sha256:xyz",
  "md5:d41d8cd98f00b204e9800998ecf8427e",
  `sha256:${"A".repeat(64)}`,
];

describe("references that are neither a valid tag nor a valid digest", () => {
  test("GET and HEAD answer 404 MANIFEST_UNKNOWN in a repository that exists", async () => {
    const repo = uniqueRepo("ref");
    const image = await pushImage(url, repo, "v1");
    for (const reference of NEITHER_TAG_NOR_DIGEST) {
      const get = await fetch(`${url}/v2/${repo}/manifests/${reference}`);
      await expectError(get, 404, "MANIFEST_UNKNOWN").catch((err: unknown) => {
        throw new Error(`GET ${reference}: ${String(err)}`);
      });
      const head = await fetch(`${url}/v2/${repo}/manifests/${reference}`, { method: "HEAD" });
      assert.equal(head.status, 404, `HEAD ${reference}`);
      assert.equal((await head.arrayBuffer()).byteLength, 0, `HEAD ${reference} has no body`);
    }
    // The stored image is still served.
    const ok = await fetch(`${url}/v2/${repo}/manifests/v1`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("docker-content-digest"), image.digest);
    await ok.arrayBuffer();
  });

  test("in a repository that does not exist they are NAME_UNKNOWN, like any other reference", async () => {
    const repo = uniqueRepo("ref-absent");
    await expectError(await fetch(`${url}/v2/${repo}/manifests/.INVALID_MANIFEST_NAME`), 404, "NAME_UNKNOWN");
  });

  test("DELETE answers 404 MANIFEST_UNKNOWN and deletes nothing", async () => {
    const repo = uniqueRepo("ref");
    const image = await pushImage(url, repo, "v1");
    for (const reference of NEITHER_TAG_NOR_DIGEST) {
      const del = await fetch(`${url}/v2/${repo}/manifests/${reference}`, { method: "DELETE" });
      await expectError(del, 404, "MANIFEST_UNKNOWN").catch((err: unknown) => {
        throw new Error(`DELETE ${reference}: ${String(err)}`);
      });
    }
    const ok = await fetch(`${url}/v2/${repo}/manifests/v1`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("docker-content-digest"), image.digest);
    await ok.arrayBuffer();
  });

  test("PUT still refuses them: 400, invalid tag or invalid digest", async () => {
    const repo = uniqueRepo("ref");
    const image = await pushImage(url, repo, "v1");
    const body = image.body;
    const tag = await putManifest(url, repo, ".INVALID_MANIFEST_NAME", body);
    assert.equal(tag.status, 400);
    assert.equal(tag.errors[0]?.code, "MANIFEST_INVALID");
    const digest = await putManifest(url, repo, "sha256:xyz", body);
    assert.equal(digest.status, 400);
    assert.equal(digest.errors[0]?.code, "DIGEST_INVALID");
    // A valid but unknown digest is still looked up normally.
    await expectError(
      await fetch(`${url}/v2/${repo}/manifests/${sha256("absent")}`),
      404,
      "MANIFEST_UNKNOWN",
    );
  });
});
