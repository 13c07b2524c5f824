/** OCI Distribution Spec v1.1 base behaviour over real HTTP: the /v2/ check, routing and the error format. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import { expectError, pushImage, readErrors, sha256, uniqueRepo } from "./manifest-support.js";

let server: TestServer;
let url: string;

before(async () => {
  server = await startWharf();
  url = server.url;
});

after(async () => {
  await server?.stop();
});

describe("GET /v2/", () => {
  test("answers 200 with the API version header and a JSON body", async () => {
    const res = await fetch(`${url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
    assert.match(res.headers.get("content-type") ?? "", /^application\/json\b/);
    const body: unknown = JSON.parse(await res.text());
    assert.equal(typeof body, "object");
    assert.notEqual(body, null);
  });

  test("HEAD /v2/ answers 200 with the header and no body", async () => {
    const res = await fetch(`${url}/v2/`, { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });

  test("/v2 without the trailing slash answers too", async () => {
    const res = await fetch(`${url}/v2`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
    await res.arrayBuffer();
  });
});

describe("routing", () => {
  test("an unknown route under /v2 is 404 with an OCI error body", async () => {
    for (const path of [
      "/v2/team/app/unknown/thing",
      "/v2/team/app",
      "/v2/_catalogue",
      "/v2/team/app/tags",
    ]) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0", path);
      const errors = await readErrors(res);
      assert.ok(errors.length > 0, path);
    }
  });

  test("a path outside /v2 is 404 with an OCI error body, but for the web UI's GETs", async () => {
    // GET and HEAD outside the registry's APIs are the web UI's (test/ui); anything else is no route.
    for (const path of ["/", "/v1/", "/health-nope"]) {
      const res = await fetch(`${url}${path}`, { method: "POST" });
      assert.equal(res.status, 404, path);
      await readErrors(res);
    }
    for (const path of ["/api/v1/nope", "/auth/nope"]) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 404, path);
      await readErrors(res);
    }
    const page = await fetch(`${url}/health-nope`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    await page.arrayBuffer();
  });

  test("a wrong method is 405 UNSUPPORTED with an Allow header listing the right ones", async () => {
    const digest = sha256("x");
    const cases: { method: string; path: string; allow: string[] }[] = [
      { method: "POST", path: "/v2/", allow: ["GET", "HEAD"] },
      { method: "DELETE", path: "/v2/_catalog", allow: ["GET"] },
      { method: "PATCH", path: "/v2/team/app/manifests/latest", allow: ["GET", "HEAD", "PUT", "DELETE"] },
      { method: "POST", path: "/v2/team/app/manifests/latest", allow: ["GET", "HEAD", "PUT", "DELETE"] },
      { method: "PUT", path: "/v2/team/app/tags/list", allow: ["GET"] },
      { method: "DELETE", path: `/v2/team/app/referrers/${digest}`, allow: ["GET"] },
      { method: "PUT", path: `/v2/team/app/blobs/${digest}`, allow: ["GET", "HEAD", "DELETE"] },
      { method: "GET", path: "/v2/team/app/blobs/uploads/", allow: ["POST"] },
    ];
    for (const { method, path, allow } of cases) {
      const res = await fetch(`${url}${path}`, { method });
      const where = `${method} ${path}`;
      await expectError(res, 405, "UNSUPPORTED").catch((err: unknown) => {
        throw new Error(`${where}: ${String(err)}`);
      });
      const header = res.headers.get("allow");
      assert.ok(header, `${where}: no Allow header`);
      const listed = header.split(",").map((m) => m.trim());
      assert.deepEqual([...listed].sort(), [...allow].sort(), `${where}: Allow ${header}`);
      assert.ok(!listed.includes(method), where);
    }
  });
});

describe("error format", () => {
  test("every error is {errors:[{code,message,detail?}]} as application/json with a spec code", async () => {
    const repo = uniqueRepo("base");
    const image = await pushImage(url, repo, "v1");
    const spec = new Set([
      "BLOB_UNKNOWN",
      "BLOB_UPLOAD_INVALID",
      "BLOB_UPLOAD_UNKNOWN",
      "DIGEST_INVALID",
      "MANIFEST_BLOB_UNKNOWN",
      "MANIFEST_INVALID",
      "MANIFEST_UNKNOWN",
      "NAME_INVALID",
      "NAME_UNKNOWN",
      "SIZE_INVALID",
      "UNAUTHORIZED",
      "DENIED",
      "UNSUPPORTED",
      "TOOMANYREQUESTS",
      "PAGINATION_NUMBER_INVALID", // Distribution's, which its clients expect
      "RANGE_INVALID",
    ]);
    const cases: { method?: string; path: string; status: number; code: string; body?: string }[] = [
      { path: `/v2/${repo}/manifests/nope`, status: 404, code: "MANIFEST_UNKNOWN" },
      { path: `/v2/${repo}/blobs/${sha256("nope")}`, status: 404, code: "BLOB_UNKNOWN" },
      { path: `/v2/${repo}/blobs/uploads/no-such-session`, status: 404, code: "BLOB_UPLOAD_UNKNOWN" },
      { path: `/v2/${uniqueRepo("absent")}/tags/list`, status: 404, code: "NAME_UNKNOWN" },
      { path: "/v2/Not_Valid/manifests/latest", status: 400, code: "NAME_INVALID" },
      // Neither a tag nor a digest: names nothing, so unknown (what the OCI conformance suite expects).
      { path: `/v2/${repo}/manifests/sha256:xyz`, status: 404, code: "MANIFEST_UNKNOWN" },
      { path: `/v2/${repo}/blobs/md5:abc`, status: 400, code: "DIGEST_INVALID" },
      { path: `/v2/${repo}/tags/list?n=-3`, status: 400, code: "PAGINATION_NUMBER_INVALID" },
      { method: "PATCH", path: `/v2/${repo}/tags/list`, status: 405, code: "UNSUPPORTED" },
      {
        method: "PUT",
        path: `/v2/${repo}/manifests/bad`,
        status: 400,
        code: "MANIFEST_INVALID",
        body: "not json",
      },
      {
        method: "DELETE",
        path: `/v2/${repo}/manifests/${sha256("never")}`,
        status: 404,
        code: "MANIFEST_UNKNOWN",
      },
    ];
    for (const c of cases) {
      const res = await fetch(`${url}${c.path}`, {
        method: c.method ?? "GET",
        ...(c.body === undefined
          ? {}
          : { body: c.body, headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } }),
      });
      const where = `${c.method ?? "GET"} ${c.path}`;
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0", where);
      const text = await res.clone().text();
      const errors = await expectError(res, c.status, c.code).catch((err: unknown) => {
        throw new Error(`${where}: ${String(err)}`);
      });
      for (const entry of errors) {
        assert.ok(spec.has(entry.code), `${where}: ${entry.code} is not a spec code`);
        assert.equal(typeof entry.message, "string", `${where}: message`);
        const keys = Object.keys(entry).filter((k) => !["code", "message", "detail"].includes(k));
        assert.deepEqual(keys, [], `${where}: unexpected fields in ${text}`);
      }
    }
    // The pushed image is untouched by all of this.
    const ok = await fetch(`${url}/v2/${repo}/manifests/v1`);
    assert.equal(ok.headers.get("docker-content-digest"), image.digest);
    await ok.arrayBuffer();
  });

  test("HEAD of something missing is a bodiless 404", async () => {
    const res = await fetch(`${url}/v2/${uniqueRepo("h")}/manifests/latest`, { method: "HEAD" });
    assert.equal(res.status, 404);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });
});
