/**
 * Two Wharf nodes on one PostgreSQL database and one S3 bucket, with nginx in front (the README's
 * "Running several nodes" set-up, from examples/nginx/nginx.conf): whatever node a request lands on, the
 * registry is the same, and a node that dies loses nothing another node acknowledged.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { startWharf, type TestServer } from "../helpers/server.js";
import { backendEnv, s3Settings, testS3Client, TEST_BUCKET } from "../helpers/backends.js";
import { startNginx, type Nginx } from "../helpers/nginx.js";
import { writeBusyboxLayout, type WrittenImage } from "../helpers/oci-layout.js";
import { podmanEnv, run, type PodmanEnv } from "../helpers/clients.js";
import { helm, packageChart, skopeo, sha256, type Result } from "../interop/support.js";
import {
  bytes,
  digest,
  pushBlob,
  pushManifest,
  randomBlob,
  startUpload,
  uniqueRepo,
  waitFor,
  withDigest,
} from "../spec/support.js";

const MiB = 1024 * 1024;

interface NodeSet {
  a: TestServer;
  b: TestServer;
  lb: Nginx;
}

/** Two nodes sharing one database and prefix, each told to believe nginx's X-Forwarded-For. */
async function startNodeSet(redirect: boolean, backend: Record<string, string>): Promise<NodeSet> {
  const env = { WHARF_TRUSTED_PROXIES: "127.0.0.1", WHARF_STORAGE_REDIRECT: String(redirect) };
  const a = await startWharf({ backend, env });
  const b = await startWharf({ backend, env });
  const lb = await startNginx([a.host, b.host]);
  return { a, b, lb };
}

async function stopNodeSet(set: NodeSet | undefined): Promise<void> {
  await set?.lb.stop();
  await Promise.all([set?.a.stop(), set?.b.stop()]);
}

async function blobBytes(base: string, repo: string, d: string): Promise<Buffer> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${d}`);
  assert.equal(res.status, 200, `GET ${repo}@${d} from ${base}`);
  return Buffer.from(await res.arrayBuffer());
}

/** PATCHes `data` from `offset` to `location`'s upload on `base`; returns the new Location path. */
async function patch(base: string, path: string, data: Buffer, offset: number): Promise<string> {
  const res = await fetch(`${base}${path}`, {
    method: "PATCH",
    headers: {
      "Content-Range": `${offset}-${offset + data.length - 1}`,
      "Content-Type": "application/octet-stream",
    },
    body: bytes(data),
  });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return (
    new URL(res.headers.get("location") ?? "", base).pathname +
    new URL(res.headers.get("location") ?? "", base).search
  );
}

describe("two nodes on PostgreSQL and S3 behind nginx", { timeout: 900_000 }, () => {
  let backend: Record<string, string>;
  let streamed: NodeSet;
  let redirected: NodeSet;
  let dir: string;

  before(async () => {
    backend = await backendEnv("postgres-s3");
    streamed = await startNodeSet(false, backend);
    // The same database and bucket, served by two more nodes that redirect blob GETs to S3.
    redirected = await startNodeSet(true, backend);
    dir = await mkdtemp(join(tmpdir(), "wharf-nodes-"));
  });
  after(async () => {
    await stopNodeSet(streamed);
    await stopNodeSet(redirected);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("a push through node A is pulled through node B", async () => {
    const repo = uniqueRepo("nodes");
    const layer = randomBlob(3 * MiB);
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layerDigest = await pushBlob(streamed.a.url, repo, layer);
    const configDigest = await pushBlob(streamed.a.url, repo, config);
    const manifest = await pushManifest(
      streamed.a.url,
      repo,
      "v1",
      { digest: configDigest, size: config.length },
      [{ digest: layerDigest, size: layer.length }],
    );
    const got = await fetch(`${streamed.b.url}/v2/${repo}/manifests/v1`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(manifest.body));
    assert.ok((await blobBytes(streamed.b.url, repo, layerDigest)).equals(layer));
    const tags = (await (await fetch(`${streamed.b.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ["v1"]);
  });

  test("a chunked upload whose chunks alternate between the nodes completes, verified", async () => {
    const repo = uniqueRepo("nodes");
    const data = randomBlob(20 * MiB + 17);
    const nodes = [streamed.a.url, streamed.b.url];
    let path = new URL(await startUpload(nodes[0] ?? "", repo)).pathname;
    // Chunks of 3 MiB: smaller than an S3 part, so every node must carry on from what another left.
    const chunk = 3 * MiB;
    let n = 0;
    for (let offset = 0; offset < data.length; offset += chunk, n++) {
      path = await patch(nodes[n % 2] ?? "", path, data.subarray(offset, offset + chunk), offset);
    }
    const status = await fetch(`${nodes[n % 2]}${path}`);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get("range"), `0-${data.length - 1}`);
    const put = await fetch(withDigest(`${nodes[(n + 1) % 2]}${path}`, digest(data)), { method: "PUT" });
    assert.equal(put.status, 201, await put.text());
    assert.ok((await blobBytes(streamed.a.url, repo, digest(data))).equals(data));
    assert.ok((await blobBytes(streamed.b.url, repo, digest(data))).equals(data));
  });

  test("with storage.redirect, blob GETs answer 307 to S3 (ranges too) and HEAD stays on the node", async () => {
    const repo = uniqueRepo("nodes");
    const data = randomBlob(2 * MiB);
    const d = await pushBlob(redirected.a.url, repo, data);
    const head = await fetch(`${redirected.b.url}/v2/${repo}/blobs/${d}`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(data.length));
    const res = await fetch(`${redirected.b.url}/v2/${repo}/blobs/${d}`, { redirect: "manual" });
    await res.arrayBuffer();
    assert.equal(res.status, 307);
    const location = res.headers.get("location") ?? "";
    assert.match(location, /X-Amz-Signature=/);
    assert.ok((await blobBytes(redirected.lb.url, repo, d)).equals(data), "followed through nginx");
    const ranged = await fetch(`${redirected.a.url}/v2/${repo}/blobs/${d}`, {
      headers: { Range: "bytes=100-199" },
    });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(100, 200)));
    // The streamed nodes on the same bucket answer 200 themselves.
    const direct = await fetch(`${streamed.a.url}/v2/${repo}/blobs/${d}`, { redirect: "manual" });
    assert.equal(direct.status, 200);
    assert.ok(Buffer.from(await direct.arrayBuffer()).equals(data));
  });

  for (const mode of ["streamed", "redirected"] as const) {
    test(`skopeo copies an image in and out through nginx (${mode})`, async () => {
      const set = mode === "streamed" ? streamed : redirected;
      const layout = join(dir, `layout-${mode}`);
      const image: WrittenImage = await writeBusyboxLayout(layout, "v1");
      const sk = await skopeo(join(dir, `skopeo-${mode}`));
      const ref = `docker://${set.lb.host}/nodes/skopeo-${mode}:v1`;
      await sk(["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, ref]);
      const out = join(dir, `out-${mode}`);
      await sk(["copy", "--src-tls-verify=false", ref, `oci:${out}:v1`]);
      const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
        manifests: { digest: string }[];
      };
      assert.equal(index.manifests[0]?.digest, image.digest);
      for (const layer of image.layers) {
        const [, hex] = layer.digest.split(":");
        const copied = await readFile(join(out, "blobs", "sha256", hex ?? ""));
        assert.equal(sha256(copied), layer.digest);
      }
    });

    test(`helm pushes and pulls a chart through nginx (${mode})`, async () => {
      const set = mode === "streamed" ? streamed : redirected;
      const work = join(dir, `helm-${mode}`);
      const h: (args: string[]) => Promise<Result> = helm(work);
      const chart = await packageChart(h, work, "nodes-chart", "1.0.0");
      // A repository per mode: both sets share one database, and a chart packaged again is new content,
      // which the default immutable-tag rule refuses under the same version.
      await h(["push", chart, `oci://${set.lb.host}/charts/${mode}`]);
      const pulled = join(work, "pulled");
      await mkdir(pulled, { recursive: true });
      await h([
        "pull",
        `oci://${set.lb.host}/charts/${mode}/nodes-chart`,
        "--version",
        "1.0.0",
        "--destination",
        pulled,
      ]);
      const original = await readFile(chart);
      const back = await readFile(join(pulled, "nodes-chart-1.0.0.tgz"));
      assert.ok(back.equals(original));
    });
  }

  test("podman pushes through nginx and pulls back through it (both modes)", async () => {
    const containers: PodmanEnv = await podmanEnv(join(dir, "containers"));
    const podman = (...args: string[]) => run("podman", args, { env: containers.env, timeout: 180_000 });
    try {
      const layout = join(dir, "podman-layout");
      await writeBusyboxLayout(layout, "v1");
      // Relative to `dir`: podman names the image after the layout's path, which must be lower-case.
      await run("podman", ["pull", "--quiet", "oci:podman-layout:v1"], {
        env: containers.env,
        timeout: 120_000,
        cwd: dir,
      });
      const id = (await podman("images", "--quiet")).stdout.trim().split("\n")[0] ?? "";
      await podman("tag", id, `${streamed.lb.host}/nodes/podman:v1`);
      await podman("push", "--tls-verify=false", `${streamed.lb.host}/nodes/podman:v1`);
      await podman("rmi", "--force", `${streamed.lb.host}/nodes/podman:v1`);
      await podman("pull", "--tls-verify=false", `${redirected.lb.host}/nodes/podman:v1`);
      const listed = (await podman("images", "--format", "{{.Repository}}:{{.Tag}}")).stdout;
      assert.match(listed, /nodes\/podman:v1/);
    } finally {
      await run("podman", ["rmi", "--all", "--force"], { env: containers.env, allowFailure: true });
    }
  });
});

describe("a node killed with kill -9", { timeout: 300_000 }, () => {
  test("loses nothing another node acknowledged; the survivor finishes the upload and expires sessions", async () => {
    const backend = await backendEnv("postgres-s3");
    // A short TTL on the survivor, so it expires the dead node's idle sessions while we watch.
    const a = await startWharf({ backend });
    const b = await startWharf({ backend, env: { WHARF_UPLOAD_TTL: "3s" } });
    try {
      const repo = uniqueRepo("kill");
      const kept = randomBlob(MiB);
      const keptDigest = await pushBlob(a.url, repo, kept);
      const data = randomBlob(12 * MiB);
      let path = new URL(await startUpload(a.url, repo)).pathname;
      path = await patch(a.url, path, data.subarray(0, 6 * MiB), 0);
      const idle = new URL(await startUpload(a.url, repo)).pathname;
      await patch(a.url, idle, randomBlob(MiB), 0);
      a.process.kill("SIGKILL");
      await new Promise((resolve) => a.process.once("exit", resolve));
      // B carries on from what A acknowledged and completes.
      const status = await fetch(`${b.url}${path}`);
      assert.equal(status.status, 204);
      assert.equal(status.headers.get("range"), `0-${6 * MiB - 1}`);
      path = await patch(b.url, path, data.subarray(6 * MiB), 6 * MiB);
      const put = await fetch(withDigest(`${b.url}${path}`, digest(data)), { method: "PUT" });
      assert.equal(put.status, 201, await put.text());
      assert.ok((await blobBytes(b.url, repo, digest(data))).equals(data));
      assert.ok((await blobBytes(b.url, repo, keptDigest)).equals(kept), "what A stored is still there");
      // The idle session A left is expired by B, with its data in the bucket.
      await waitFor(
        async () => {
          const res = await fetch(`${b.url}${idle}`);
          await res.arrayBuffer();
          return res.status === 404;
        },
        60_000,
        "B to expire the session A left",
      );
      const s3 = testS3Client(await s3Settings());
      const id = idle.split("/").pop() ?? "";
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: `${backend.WHARF_S3_PREFIX}uploads/${id}` }),
      );
      s3.destroy();
      assert.equal(listed.KeyCount ?? 0, 0, "the expired session's objects are gone");
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
