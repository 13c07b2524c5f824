/** Every JSON response of the registry API carries exactly its media type: no parameters added. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  ADMIN,
  adminCall,
  postToken,
  randomHex,
  requestToken,
  startAuthServer,
  type AuthServer,
} from "../auth/support.js";
import {
  DOCKER_MANIFEST,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  imageManifest,
  indexManifest,
  pushBlob,
  pushImage,
  pushImageParts,
  putManifest,
  sha256,
  uniqueRepo,
} from "./manifest-support.js";

let server: TestServer;
let url: string;

before(async () => {
  server = await startWharf();
  url = server.url;
});

after(async () => {
  await server?.stop();
});

interface Case {
  method?: string;
  path: string;
  status: number;
  type: string;
  body?: string;
  contentType?: string;
}

/** Requests every case and asserts the status and the whole Content-Type header, byte for byte. */
async function assertExactTypes(cases: Case[]): Promise<void> {
  for (const c of cases) {
    const where = `${c.method ?? "GET"} ${c.path}`;
    const res = await fetch(`${url}${c.path}`, {
      method: c.method ?? "GET",
      ...(c.body === undefined ? {} : { body: c.body, headers: { "Content-Type": c.contentType ?? "" } }),
    });
    const body = await res.text();
    assert.equal(res.status, c.status, `${where}: ${body}`);
    assert.equal(res.headers.get("content-type"), c.type, `${where}: Content-Type`);
    if (c.method !== "HEAD" && c.type.endsWith("json")) JSON.parse(body); // and the body is that JSON
  }
}

describe("exact Content-Type headers", () => {
  let repo: string;
  let image: Awaited<ReturnType<typeof pushImage>>;
  let index: string;
  let docker: string;

  before(async () => {
    repo = uniqueRepo("types");
    image = await pushImage(url, repo, "v1");
    const empty = await pushBlob(url, repo, "{}", OCI_EMPTY);
    const referrer = imageManifest(
      { config: empty, layers: [] },
      {
        artifactType: "application/vnd.example.sig",
        subject: { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size },
      },
    );
    assert.equal((await putManifest(url, repo, "sig", referrer)).status, 201);
    const child = { mediaType: OCI_MANIFEST, digest: image.digest, size: image.size };
    const put = await putManifest(url, repo, "multi", indexManifest([child]));
    assert.equal(put.status, 201);
    index = put.digest;
    const parts = await pushImageParts(url, repo);
    const dockerDoc = imageManifest(parts, { mediaType: DOCKER_MANIFEST });
    const dockerPut = await putManifest(url, repo, "docker", dockerDoc, DOCKER_MANIFEST);
    assert.equal(dockerPut.status, 201);
    docker = dockerPut.digest;
  });

  test("the referrers index is exactly application/vnd.oci.image.index.v1+json", async () => {
    await assertExactTypes([
      { path: `/v2/${repo}/referrers/${image.digest}`, status: 200, type: OCI_INDEX },
      { path: `/v2/${repo}/referrers/${sha256("nothing")}`, status: 200, type: OCI_INDEX },
      {
        path: `/v2/${repo}/referrers/${image.digest}?artifactType=application/vnd.example.sig`,
        status: 200,
        type: OCI_INDEX,
      },
    ]);
  });

  test("listings and the API root are exactly application/json", async () => {
    await assertExactTypes([
      { path: "/v2/", status: 200, type: "application/json" },
      { method: "HEAD", path: "/v2/", status: 200, type: "application/json" },
      { path: "/v2/_catalog", status: 200, type: "application/json" },
      { path: "/v2/_catalog?n=1", status: 200, type: "application/json" },
      { path: `/v2/${repo}/tags/list`, status: 200, type: "application/json" },
    ]);
  });

  test("manifests are served with exactly their stored media type, by tag and by digest", async () => {
    await assertExactTypes([
      { path: `/v2/${repo}/manifests/v1`, status: 200, type: OCI_MANIFEST },
      { method: "HEAD", path: `/v2/${repo}/manifests/v1`, status: 200, type: OCI_MANIFEST },
      { path: `/v2/${repo}/manifests/${index}`, status: 200, type: OCI_INDEX },
      { path: `/v2/${repo}/manifests/${docker}`, status: 200, type: DOCKER_MANIFEST },
    ]);
  });

  test("errors are exactly application/json, whatever produced them", async () => {
    await assertExactTypes([
      { path: `/v2/${repo}/manifests/absent`, status: 404, type: "application/json" },
      { path: `/v2/${repo}/blobs/${sha256("absent")}`, status: 404, type: "application/json" },
      { path: `/v2/${uniqueRepo("absent")}/tags/list`, status: 404, type: "application/json" },
      { path: "/v2/Not_Valid/tags/list", status: 400, type: "application/json" },
      { path: `/v2/${repo}/tags/list?n=-1`, status: 400, type: "application/json" },
      { path: `/v2/${repo}/blobs/uploads/no-such-session`, status: 404, type: "application/json" },
      { method: "PATCH", path: `/v2/${repo}/tags/list`, status: 405, type: "application/json" },
      { method: "POST", path: "/not-the-api", status: 404, type: "application/json" },
      { path: "/api/v1/not-the-api", status: 404, type: "application/json" },
      {
        method: "PUT",
        path: `/v2/${repo}/manifests/bad`,
        status: 400,
        type: "application/json",
        body: "not json",
        contentType: OCI_MANIFEST,
      },
    ]);
  });
});

describe("exact Content-Type headers of the token endpoint and the admin API", () => {
  let auth: AuthServer;
  before(async () => {
    auth = await startAuthServer();
  });
  after(async () => {
    await auth?.stop();
  });

  /** Asserts the status and that Content-Type is exactly application/json, then parses the body. */
  async function exactJson(res: Response, status: number, what: string): Promise<unknown> {
    const body = await res.text();
    assert.equal(res.status, status, `${what}: ${body}`);
    assert.equal(res.headers.get("content-type"), "application/json", `${what}: Content-Type`);
    return JSON.parse(body);
  }

  test("token responses, including a refused grant type, are exactly application/json", async () => {
    await exactJson(await requestToken(auth.url, ["repository:team/x:pull"]), 200, "GET /auth/token");
    await exactJson(await requestToken(auth.url, [], ADMIN), 200, "GET /auth/token with Basic");
    const form = { grant_type: "password", username: ADMIN.name, password: ADMIN.password, service: "wharf" };
    await exactJson(await postToken(auth.url, form), 200, "POST /auth/token");
    await exactJson(await postToken(auth.url, { grant_type: "magic" }), 400, "POST unsupported grant");
  });

  test("admin API objects, created (201), accepted (202) or listed, are exactly application/json", async () => {
    const name = `ct-${randomHex(3)}`;
    await exactJson(await adminCall(auth.url, "GET", "/whoami"), 200, "whoami");
    await exactJson(
      await adminCall(auth.url, "POST", "/users", { name, password: "Content-Type-Pw-1", admin: false }),
      201,
      "user add",
    );
    await exactJson(await adminCall(auth.url, "GET", "/users"), 200, "user list");
    await exactJson(
      await adminCall(auth.url, "POST", "/access", {
        subject: `user:${name}`,
        pattern: "ct/**",
        actions: ["pull"],
      }),
      201,
      "access add",
    );
    await exactJson(
      await adminCall(auth.url, "POST", "/tokens", {
        name: `robot-${name}`,
        repositories: ["ct/**"],
        actions: ["pull"],
        expiresAt: null,
      }),
      201,
      "token create",
    );
    await exactJson(await adminCall(auth.url, "GET", "/audit?limit=5"), 200, "audit");
    await exactJson(await adminCall(auth.url, "POST", "/storage/verify", {}), 202, "storage verify start");
    await exactJson(await adminCall(auth.url, "GET", "/storage/verify"), 200, "storage verify status");
  });
});
