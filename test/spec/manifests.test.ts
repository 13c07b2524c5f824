/** OCI Distribution Spec v1.1 manifest endpoints over real HTTP: push, pull, existence, tags, deletes. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  HELM_CHART,
  HELM_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_MANIFEST,
  expectError,
  getManifest,
  imageManifest,
  indexManifest,
  listTags,
  pushBlob,
  pushImage,
  pushImageParts,
  putManifest,
  sha256,
  uniqueRepo,
  type Descriptor,
} from "./manifest-support.js";

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

let server: TestServer;
let url: string;

before(async () => {
  server = await startWharf();
  url = server.url;
});

after(async () => {
  await server?.stop();
});

/** The path of a Location header, which may be absolute or relative. */
function locationPath(res: Response): string {
  const location = res.headers.get("location");
  assert.ok(location, "no Location header");
  return new URL(location, url).pathname;
}

/** Checks GET and HEAD of `reference` answer with the stored bytes and the spec's headers. */
async function assertServed(repo: string, reference: string, body: Buffer, mediaType: string) {
  const digest = sha256(body);
  const got = await getManifest(url, repo, reference);
  assert.equal(got.status, 200, `GET ${repo}:${reference} answered ${got.status}`);
  assert.equal(got.res.headers.get("docker-content-digest"), digest);
  assert.equal(got.res.headers.get("content-type"), mediaType);
  assert.equal(got.res.headers.get("content-length"), String(body.length));
  assert.ok(got.res.headers.get("etag")?.includes(digest), `ETag ${got.res.headers.get("etag")}`);
  assert.ok(got.body.equals(body), "GET returned other bytes than were pushed");

  const head = await getManifest(url, repo, reference, "HEAD");
  assert.equal(head.status, 200);
  assert.equal(head.res.headers.get("docker-content-digest"), digest);
  assert.equal(head.res.headers.get("content-type"), mediaType);
  assert.equal(head.res.headers.get("content-length"), String(body.length));
  assert.equal(head.res.headers.get("etag"), got.res.headers.get("etag"));
  assert.equal(head.body.length, 0, "HEAD must not return a body");
}

/**
 * The full life of one manifest: PUT by digest and by tag, GET/HEAD both ways, untag, retag, delete by
 * digest (which removes its tags).
 */
async function roundTrip(repo: string, doc: unknown, mediaType: string, tag = "v1") {
  const body = Buffer.from(JSON.stringify(doc, null, 2)); // indented: the registry must keep the bytes
  const digest = sha256(body);

  const byDigest = await putManifest(url, repo, digest, body, mediaType);
  assert.equal(byDigest.status, 201, JSON.stringify(byDigest.errors));
  assert.equal(byDigest.res.headers.get("docker-content-digest"), digest);
  assert.equal(locationPath(byDigest.res), `/v2/${repo}/manifests/${digest}`);

  const byTag = await putManifest(url, repo, tag, body, mediaType);
  assert.equal(byTag.status, 201, JSON.stringify(byTag.errors));
  assert.equal(byTag.res.headers.get("docker-content-digest"), digest);
  assert.ok(locationPath(byTag.res).startsWith(`/v2/${repo}/manifests/`));

  await assertServed(repo, tag, body, mediaType);
  await assertServed(repo, digest, body, mediaType);
  assert.ok((await listTags(url, repo)).tags.includes(tag));

  // Untag: the manifest stays.
  const untag = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: "DELETE" });
  await untag.arrayBuffer();
  assert.equal(untag.status, 202);
  await expectError(await fetch(`${url}/v2/${repo}/manifests/${tag}`), 404, "MANIFEST_UNKNOWN");
  await assertServed(repo, digest, body, mediaType);
  assert.ok(!(await listTags(url, repo)).tags.includes(tag));

  // Retag, then delete by digest: the tag goes with it.
  assert.equal((await putManifest(url, repo, tag, body, mediaType)).status, 201);
  const del = await fetch(`${url}/v2/${repo}/manifests/${digest}`, { method: "DELETE" });
  await del.arrayBuffer();
  assert.equal(del.status, 202);
  await expectError(await fetch(`${url}/v2/${repo}/manifests/${digest}`), 404, "MANIFEST_UNKNOWN");
  await expectError(await fetch(`${url}/v2/${repo}/manifests/${tag}`), 404, "MANIFEST_UNKNOWN");
  const head = await fetch(`${url}/v2/${repo}/manifests/${digest}`, { method: "HEAD" });
  assert.equal(head.status, 404);
  assert.ok(!(await listTags(url, repo)).tags.includes(tag));
  return digest;
}

describe("manifest push and pull per manifest type", () => {
  test("OCI image manifest", async () => {
    const repo = uniqueRepo("oci");
    const parts = await pushImageParts(url, repo, { layerCount: 2 });
    await roundTrip(repo, imageManifest(parts, { annotations: { "org.example.k": "v" } }), OCI_MANIFEST);
  });

  test("OCI image index whose children exist", async () => {
    const repo = uniqueRepo("index");
    const amd = await pushImage(url, repo);
    const arm = await pushImage(url, repo);
    const index = indexManifest([
      { ...stripBody(amd), platform: { architecture: "amd64", os: "linux" } },
      { ...stripBody(arm), platform: { architecture: "arm64", os: "linux" } },
    ]);
    await roundTrip(repo, index, OCI_INDEX, "multi");
    // The children are untouched by deleting the index.
    assert.equal((await getManifest(url, repo, amd.digest)).status, 200);
    assert.equal((await getManifest(url, repo, arm.digest)).status, 200);
  });

  test("Docker schema 2 manifest", async () => {
    const repo = uniqueRepo("docker");
    const parts = await pushImageParts(url, repo, { configType: DOCKER_CONFIG, layerType: DOCKER_LAYER });
    await roundTrip(repo, imageManifest(parts, { mediaType: DOCKER_MANIFEST }), DOCKER_MANIFEST, "latest");
  });

  test("Docker manifest list", async () => {
    const repo = uniqueRepo("dlist");
    const children: Descriptor[] = [];
    for (const architecture of ["amd64", "arm64"]) {
      const parts = await pushImageParts(url, repo, { configType: DOCKER_CONFIG, layerType: DOCKER_LAYER });
      const doc = imageManifest(parts, { mediaType: DOCKER_MANIFEST });
      const put = await putManifest(url, repo, `img-${architecture}`, doc, DOCKER_MANIFEST);
      assert.equal(put.status, 201);
      children.push({
        mediaType: DOCKER_MANIFEST,
        digest: put.digest,
        size: put.body.length,
        platform: { architecture, os: "linux" },
      });
    }
    await roundTrip(repo, indexManifest(children, { mediaType: DOCKER_LIST }), DOCKER_LIST, "multi");
  });

  test("artifact with artifactType and the empty config", async () => {
    const repo = uniqueRepo("artifact");
    const config = await pushBlob(url, repo, "{}", OCI_EMPTY);
    const layer = await pushBlob(url, repo, "spdx document", "application/spdx+json");
    const doc = imageManifest(
      { config, layers: [layer] },
      {
        artifactType: "application/vnd.example.sbom.v1",
        annotations: { "org.opencontainers.image.title": "s" },
      },
    );
    await roundTrip(repo, doc, OCI_MANIFEST, "sbom");
  });

  test("artifact with only config.mediaType (a Helm chart)", async () => {
    const repo = uniqueRepo("charts");
    const config = await pushBlob(url, repo, '{"name":"mychart","version":"0.1.0"}', HELM_CONFIG);
    const chart = await pushBlob(url, repo, randomBytes(300), HELM_CHART);
    // Not the version as tag: the round trip untags and deletes, which the default rule refuses for
    // version tags (immutable-tags.test.ts covers that).
    await roundTrip(repo, imageManifest({ config, layers: [chart] }), OCI_MANIFEST, "stable");
  });

  test("an OCI manifest without a mediaType field is stored with the Content-Type it was sent with", async () => {
    const repo = uniqueRepo("nomt");
    const parts = await pushImageParts(url, repo);
    const doc = { schemaVersion: 2, config: parts.config, layers: parts.layers };
    await roundTrip(repo, doc, OCI_MANIFEST);
  });

  test("Content-Type parameters are ignored: the stored type is the bare media type", async () => {
    const repo = uniqueRepo("ctparams");
    const parts = await pushImageParts(url, repo);
    const body = Buffer.from(JSON.stringify(imageManifest(parts)));
    const put = await putManifest(url, repo, "v1", body, `${OCI_MANIFEST}; charset=utf-8`);
    assert.equal(put.status, 201, JSON.stringify(put.errors));
    await assertServed(repo, "v1", body, OCI_MANIFEST);
  });

  test("a manifest pushed by a sha512 digest is addressed by that digest", async () => {
    const repo = uniqueRepo("sha512");
    const parts = await pushImageParts(url, repo);
    const body = Buffer.from(JSON.stringify(imageManifest(parts)));
    const digest = `sha512:${createHash("sha512").update(body).digest("hex")}`;
    const put = await putManifest(url, repo, digest, body, OCI_MANIFEST);
    assert.equal(put.status, 201, JSON.stringify(put.errors));
    assert.equal(put.res.headers.get("docker-content-digest"), digest);
    const got = await getManifest(url, repo, digest);
    assert.equal(got.status, 200);
    assert.equal(got.res.headers.get("docker-content-digest"), digest);
    assert.ok(got.body.equals(body));
  });

  test("If-None-Match with the ETag answers 304 without a body", async () => {
    const repo = uniqueRepo("etag");
    const image = await pushImage(url, repo, "v1");
    const first = await getManifest(url, repo, "v1");
    const etag = first.res.headers.get("etag");
    assert.ok(etag);
    const res = await fetch(`${url}/v2/${repo}/manifests/v1`, { headers: { "If-None-Match": etag } });
    assert.equal(res.status, 304);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    assert.equal(first.res.headers.get("docker-content-digest"), image.digest);
  });
});

function stripBody(d: Descriptor & { body: Buffer }): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

describe("manifest push errors store nothing", () => {
  let repo: string;
  let good: Record<string, unknown>;
  let tagsBefore: string[];

  before(async () => {
    repo = uniqueRepo("errors");
    const parts = await pushImageParts(url, repo);
    good = imageManifest(parts);
    assert.equal((await putManifest(url, repo, "stable", good)).status, 201);
    tagsBefore = (await listTags(url, repo)).tags;
  });

  /** After a refused PUT the tag list is as before and the refused bytes are not served. */
  async function assertNothingStored(refusedDigest?: string) {
    assert.deepEqual((await listTags(url, repo)).tags, tagsBefore);
    if (refusedDigest) {
      const res = await fetch(`${url}/v2/${repo}/manifests/${refusedDigest}`);
      await expectError(res, 404, "MANIFEST_UNKNOWN");
    }
  }

  test("invalid JSON is MANIFEST_INVALID", async () => {
    const put = await putManifest(url, repo, "broken", Buffer.from('{"schemaVersion": 2,'), OCI_MANIFEST);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    await assertNothingStored(put.digest);
  });

  test("an empty body is MANIFEST_INVALID", async () => {
    const put = await putManifest(url, repo, "empty", Buffer.alloc(0), OCI_MANIFEST);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    await assertNothingStored();
  });

  test("schemaVersion other than 2 is MANIFEST_INVALID", async () => {
    const put = await putManifest(url, repo, "schema1", { ...good, schemaVersion: 1 }, OCI_MANIFEST);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    await assertNothingStored(put.digest);
  });

  test("a body mediaType contradicting the Content-Type is MANIFEST_INVALID", async () => {
    const put = await putManifest(url, repo, "contradict", good, OCI_INDEX);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    const docker = await putManifest(url, repo, "contradict", good, DOCKER_MANIFEST);
    assert.equal(docker.status, 400);
    assert.equal(docker.errors[0]?.code, "MANIFEST_INVALID");
    // Same bytes as "stable", so only the tag list can show what was stored.
    await assertNothingStored();
  });

  test("a digest reference that does not match the body is DIGEST_INVALID", async () => {
    const body = Buffer.from(JSON.stringify(good));
    const wrong = sha256(Buffer.concat([body, Buffer.from(" ")]));
    const put = await putManifest(url, repo, wrong, body, OCI_MANIFEST);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "DIGEST_INVALID");
    await assertNothingStored(wrong);
  });

  test("a malformed digest reference is DIGEST_INVALID", async () => {
    const put = await putManifest(url, repo, "sha256:1234", good, OCI_MANIFEST);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "DIGEST_INVALID");
    await assertNothingStored();
  });

  test("a missing config blob is MANIFEST_BLOB_UNKNOWN naming the digest", async () => {
    const layer = await pushBlob(url, repo, randomBytes(32));
    const missing = {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: sha256("nope"),
      size: 4,
    };
    const put = await putManifest(url, repo, "noconfig", imageManifest({ config: missing, layers: [layer] }));
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_BLOB_UNKNOWN");
    assert.equal((put.errors[0]?.detail as { digest?: string } | undefined)?.digest, missing.digest);
    await assertNothingStored(put.digest);
  });

  test("a missing layer blob is MANIFEST_BLOB_UNKNOWN", async () => {
    const config = await pushBlob(url, repo, '{"n":1}', "application/vnd.oci.image.config.v1+json");
    const missing = { mediaType: OCI_EMPTY, digest: sha256(randomBytes(8)), size: 8 };
    const put = await putManifest(url, repo, "nolayer", imageManifest({ config, layers: [missing] }));
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_BLOB_UNKNOWN");
    await assertNothingStored(put.digest);
  });

  test("a blob that exists only in another repository does not count", async () => {
    const other = uniqueRepo("other");
    const foreign = await pushBlob(url, other, randomBytes(40));
    const config = await pushBlob(url, repo, '{"n":2}', "application/vnd.oci.image.config.v1+json");
    const put = await putManifest(url, repo, "foreign", imageManifest({ config, layers: [foreign] }));
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_BLOB_UNKNOWN");
    await assertNothingStored(put.digest);
  });

  test("an index with a missing child manifest is MANIFEST_BLOB_UNKNOWN", async () => {
    const child = await pushImage(url, repo);
    const ghost = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(16)), size: 123 };
    const put = await putManifest(url, repo, "ghost", indexManifest([stripBody(child), ghost]));
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_BLOB_UNKNOWN");
    await assertNothingStored(put.digest);
  });

  test("a descriptor size that does not match the blob is refused", async () => {
    const parts = await pushImageParts(url, repo);
    const layer = parts.layers[0];
    assert.ok(layer);
    const wrongSize = imageManifest({ config: parts.config, layers: [{ ...layer, size: layer.size + 1 }] });
    const put = await putManifest(url, repo, "wrongsize", wrongSize);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    await assertNothingStored(put.digest);
  });

  test("an index child size that does not match the manifest is refused", async () => {
    const child = await pushImage(url, repo);
    const put = await putManifest(url, repo, "wrongchild", indexManifest([{ ...stripBody(child), size: 1 }]));
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    await assertNothingStored(put.digest);
  });

  test("an invalid tag is refused with a 400 (MANIFEST_INVALID; the spec has no TAG_INVALID)", async () => {
    for (const tag of ["-leading-dash", ".dot", "a".repeat(129), "bad%2Btag"]) {
      const put = await putManifest(url, repo, tag, good);
      assert.equal(put.status, 400, `tag ${tag} answered ${put.status}`);
      assert.equal(put.errors[0]?.code, "MANIFEST_INVALID", `tag ${tag}: ${JSON.stringify(put.errors)}`);
    }
    await assertNothingStored();
  });

  test("a 128-character tag, the longest allowed, is accepted", async () => {
    const tag = `_${"x".repeat(127)}`;
    const put = await putManifest(url, repo, tag, good);
    assert.equal(put.status, 201);
    assert.ok((await listTags(url, repo)).tags.includes(tag));
    const del = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: "DELETE" });
    assert.equal(del.status, 202);
    await assertNothingStored();
  });

  test("an invalid ?tag= refuses the whole push, valid tags included", async () => {
    const parts = await pushImageParts(url, repo);
    const body = Buffer.from(JSON.stringify(imageManifest(parts)));
    const digest = sha256(body);
    const put = await putManifest(url, repo, digest, body, OCI_MANIFEST, "?tag=fine&tag=-bad");
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    await assertNothingStored(digest);
  });

  test("a manifest over 4 MiB is refused with 413; exactly 4 MiB is accepted", async () => {
    const padded = (total: number) => {
      const doc = { ...good, annotations: { pad: "" } };
      const base = Buffer.byteLength(JSON.stringify(doc));
      doc.annotations.pad = "p".repeat(total - base);
      const body = Buffer.from(JSON.stringify(doc));
      assert.equal(body.length, total);
      return body;
    };
    const tooBig = padded(MAX_MANIFEST_BYTES + 1);
    const put = await putManifest(url, repo, "huge", tooBig, OCI_MANIFEST);
    assert.equal(put.status, 413);
    assert.equal(put.errors[0]?.code, "SIZE_INVALID");
    await assertNothingStored(put.digest);

    const limit = padded(MAX_MANIFEST_BYTES);
    const ok = await putManifest(url, repo, sha256(limit), limit, OCI_MANIFEST);
    assert.equal(ok.status, 201, JSON.stringify(ok.errors));
    const got = await getManifest(url, repo, ok.digest);
    assert.ok(got.body.equals(limit));
    const del = await fetch(`${url}/v2/${repo}/manifests/${ok.digest}`, { method: "DELETE" });
    assert.equal(del.status, 202);
  });

  test("the invalid repository name is NAME_INVALID", async () => {
    const put = await putManifest(url, "Upper/Case", "v1", good);
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "NAME_INVALID");
  });

  test("annotations that are not strings are MANIFEST_INVALID", async () => {
    const put = await putManifest(url, repo, "badannot", { ...good, annotations: { n: 1 } });
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_INVALID");
    await assertNothingStored(put.digest);
  });

  test("a streamed (chunked) manifest over 4 MiB is refused with 413 too", async () => {
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_MANIFEST_BYTES) return controller.close();
        sent += chunk.length;
        controller.enqueue(new Uint8Array(chunk));
      },
    });
    const res = await fetch(`${url}/v2/${repo}/manifests/streamed`, {
      method: "PUT",
      headers: { "Content-Type": OCI_MANIFEST },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(res, 413, "SIZE_INVALID");
    await assertNothingStored();
  });

  test("a refused PUT to a new repository does not create it", async () => {
    const fresh = uniqueRepo("fresh");
    const ghost = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(16)), size: 10 };
    const put = await putManifest(url, fresh, "v1", indexManifest([ghost]));
    assert.equal(put.status, 400);
    assert.equal(put.errors[0]?.code, "MANIFEST_BLOB_UNKNOWN");
    await expectError(await fetch(`${url}/v2/${fresh}/tags/list`), 404, "NAME_UNKNOWN");
    const catalog = (await (await fetch(`${url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.ok(!catalog.repositories.includes(fresh));
  });
});

describe("subject, tags and deletes", () => {
  test("a subject that does not exist is accepted and echoed in OCI-Subject", async () => {
    const repo = uniqueRepo("subject");
    const config = await pushBlob(url, repo, "{}", OCI_EMPTY);
    const subject = { mediaType: OCI_MANIFEST, digest: sha256(randomBytes(20)), size: 512 };
    const doc = imageManifest(
      { config, layers: [] },
      { artifactType: "application/vnd.example.signature", subject },
    );
    const put = await putManifest(url, repo, sha256(JSON.stringify(doc)), doc);
    assert.equal(put.status, 201, JSON.stringify(put.errors));
    assert.equal(put.res.headers.get("oci-subject"), subject.digest);
    assert.equal((await getManifest(url, repo, put.digest)).status, 200);
  });

  test("a manifest without subject answers without OCI-Subject", async () => {
    const repo = uniqueRepo("nosubject");
    const parts = await pushImageParts(url, repo);
    const put = await putManifest(url, repo, "v1", imageManifest(parts));
    assert.equal(put.status, 201);
    assert.equal(put.res.headers.get("oci-subject"), null);
  });

  test("PUT by digest with ?tag=a&tag=b sets every tag", async () => {
    const repo = uniqueRepo("multitag");
    const parts = await pushImageParts(url, repo);
    const body = Buffer.from(JSON.stringify(imageManifest(parts)));
    const digest = sha256(body);
    const put = await putManifest(url, repo, digest, body, OCI_MANIFEST, "?tag=a&tag=b&tag=1.0.0");
    assert.equal(put.status, 201, JSON.stringify(put.errors));
    assert.equal(put.res.headers.get("docker-content-digest"), digest);
    for (const tag of ["a", "b", "1.0.0"]) {
      const got = await getManifest(url, repo, tag);
      assert.equal(got.status, 200, `tag ${tag}`);
      assert.equal(got.res.headers.get("docker-content-digest"), digest);
    }
    assert.deepEqual((await listTags(url, repo)).tags, ["1.0.0", "a", "b"]);
  });

  test("a tag overwritten points at the last manifest; the first stays by digest", async () => {
    const repo = uniqueRepo("overwrite");
    const first = await pushImage(url, repo, "latest");
    const second = await pushImage(url, repo, "latest");
    assert.notEqual(first.digest, second.digest);
    const got = await getManifest(url, repo, "latest");
    assert.equal(got.res.headers.get("docker-content-digest"), second.digest);
    assert.ok(got.body.equals(second.body));
    const old = await getManifest(url, repo, first.digest);
    assert.equal(old.status, 200);
    assert.ok(old.body.equals(first.body));
    assert.deepEqual((await listTags(url, repo)).tags, ["latest"]);
  });

  test("10 parallel PUTs of different manifests to one tag: one wins, all stay by digest", async () => {
    const repo = uniqueRepo("race");
    const bodies: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const parts = await pushImageParts(url, repo);
      bodies.push(Buffer.from(JSON.stringify(imageManifest(parts, { annotations: { i: String(i) } }))));
    }
    const puts = await Promise.all(bodies.map((b) => putManifest(url, repo, "race", b, OCI_MANIFEST)));
    for (const put of puts) assert.equal(put.status, 201, JSON.stringify(put.errors));
    const digests = bodies.map((b) => sha256(b));
    const got = await getManifest(url, repo, "race");
    assert.equal(got.status, 200);
    const winner = got.res.headers.get("docker-content-digest");
    assert.ok(winner && digests.includes(winner), `tag points at ${winner}`);
    assert.equal(sha256(got.body), winner);
    for (const [i, digest] of digests.entries()) {
      const byDigest = await getManifest(url, repo, digest);
      assert.equal(byDigest.status, 200);
      assert.ok(byDigest.body.equals(bodies[i] ?? Buffer.alloc(0)));
    }
    assert.deepEqual((await listTags(url, repo)).tags, ["race"]);
  });

  test("DELETE by tag only untags: other tags and the digest remain", async () => {
    const repo = uniqueRepo("untag");
    const parts = await pushImageParts(url, repo);
    const body = Buffer.from(JSON.stringify(imageManifest(parts)));
    const digest = sha256(body);
    assert.equal((await putManifest(url, repo, digest, body, OCI_MANIFEST, "?tag=one&tag=two")).status, 201);
    const del = await fetch(`${url}/v2/${repo}/manifests/one`, { method: "DELETE" });
    assert.equal(del.status, 202);
    assert.deepEqual((await listTags(url, repo)).tags, ["two"]);
    assert.equal((await getManifest(url, repo, "two")).status, 200);
    assert.equal((await getManifest(url, repo, digest)).status, 200);
    await expectError(await fetch(`${url}/v2/${repo}/manifests/one`), 404, "MANIFEST_UNKNOWN");
    // Deleting the tag again: it is gone.
    await expectError(
      await fetch(`${url}/v2/${repo}/manifests/one`, { method: "DELETE" }),
      404,
      "MANIFEST_UNKNOWN",
    );
  });

  test("DELETE by digest removes the manifest and all its tags", async () => {
    const repo = uniqueRepo("rmdigest");
    const keep = await pushImage(url, repo, "keep");
    const parts = await pushImageParts(url, repo);
    const body = Buffer.from(JSON.stringify(imageManifest(parts)));
    const digest = sha256(body);
    assert.equal((await putManifest(url, repo, digest, body, OCI_MANIFEST, "?tag=x&tag=y")).status, 201);
    const del = await fetch(`${url}/v2/${repo}/manifests/${digest}`, { method: "DELETE" });
    assert.equal(del.status, 202);
    assert.deepEqual((await listTags(url, repo)).tags, ["keep"]);
    for (const ref of [digest, "x", "y"]) {
      await expectError(await fetch(`${url}/v2/${repo}/manifests/${ref}`), 404, "MANIFEST_UNKNOWN");
    }
    assert.equal((await getManifest(url, repo, keep.digest)).status, 200);
    // A second delete finds nothing.
    await expectError(
      await fetch(`${url}/v2/${repo}/manifests/${digest}`, { method: "DELETE" }),
      404,
      "MANIFEST_UNKNOWN",
    );
  });

  test("unknown manifests are 404 MANIFEST_UNKNOWN; unknown repositories 404 NAME_UNKNOWN", async () => {
    const repo = uniqueRepo("unknown");
    await pushImage(url, repo, "present");
    await expectError(await fetch(`${url}/v2/${repo}/manifests/absent`), 404, "MANIFEST_UNKNOWN");
    await expectError(
      await fetch(`${url}/v2/${repo}/manifests/${sha256("absent")}`),
      404,
      "MANIFEST_UNKNOWN",
    );
    const head = await fetch(`${url}/v2/${repo}/manifests/absent`, { method: "HEAD" });
    assert.equal(head.status, 404);
    await expectError(await fetch(`${url}/v2/${uniqueRepo("never")}/manifests/latest`), 404, "NAME_UNKNOWN");
  });
});
