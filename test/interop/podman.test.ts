import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { startWharf, type TestServer } from "../helpers/server.js";
import { podmanEnv, run, type PodmanEnv, type RunResult } from "../helpers/clients.js";
import { sha256, writeBusyboxLayout, type WrittenImage } from "../helpers/oci-layout.js";

interface Manifest {
  mediaType: string;
  config: { digest: string };
  layers: { digest: string; mediaType: string }[];
}

interface ImageInspect {
  Id: string;
  Digest: string;
  RepoDigests: string[];
  RepoTags: string[];
}

// podman and buildah run with a private containers.conf / storage.conf (vfs, cgroupfs, runc, file events,
// graphroot and runroot in a temporary directory), so nothing here reads or changes the machine's images.
describe("podman and buildah against wharf serve", { timeout: 600_000 }, () => {
  let wharf: TestServer;
  let dir: string;
  let containers: PodmanEnv;
  let layout: string;
  let busybox: WrittenImage;
  let pushedDigest: string;

  const podman = (...args: string[]): Promise<RunResult> =>
    run("podman", args, { env: containers.env, timeout: 120_000 });
  const buildah = (...args: string[]): Promise<RunResult> =>
    run("buildah", args, { env: containers.env, timeout: 120_000, cwd: dir });
  const image = (repoAndTag: string) => `${wharf.host}/${repoAndTag}`;
  async function inspectImage(ref: string): Promise<ImageInspect> {
    const [info] = JSON.parse((await podman("image", "inspect", ref)).stdout) as ImageInspect[];
    assert.ok(info, `no image ${ref}`);
    return info;
  }
  async function manifestAt(
    repo: string,
    reference: string,
  ): Promise<{ digest: string; manifest: Manifest }> {
    const res = await fetch(`${wharf.url}/v2/${repo}/manifests/${reference}`, {
      headers: {
        accept:
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      },
    });
    assert.equal(res.status, 200, `GET manifest ${repo}:${reference}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get("docker-content-digest"), sha256(bytes));
    return { digest: sha256(bytes), manifest: JSON.parse(bytes.toString("utf8")) as Manifest };
  }
  async function blobAt(repo: string, digest: string): Promise<Buffer> {
    const res = await fetch(`${wharf.url}/v2/${repo}/blobs/${digest}`);
    assert.equal(res.status, 200, `GET blob ${repo}@${digest}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), digest);
    return bytes;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-podman-"));
    [wharf, containers] = await Promise.all([startWharf(), podmanEnv(join(dir, "containers"))]);
    layout = join(dir, "layout");
    busybox = await writeBusyboxLayout(layout, "v1");
  });

  after(async () => {
    if (containers) {
      await run("podman", ["rm", "--all", "--force"], { env: containers.env, allowFailure: true });
      await run("buildah", ["rm", "--all"], { env: containers.env, allowFailure: true });
    }
    await wharf?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("podman loads the busybox image from an OCI layout", async () => {
    // Relative to the test directory: podman names the image after the layout's path, which must be lowercase.
    const pulled = await run("podman", ["pull", "--quiet", "oci:layout:v1"], {
      env: containers.env,
      cwd: dir,
    });
    const id = pulled.stdout.trim();
    await podman("tag", id, image("podman/busybox:v1"));
    const info = await inspectImage(image("podman/busybox:v1"));
    // An image's id is its config digest: the config went into storage unchanged.
    assert.equal(info.Id, busybox.config.digest.slice("sha256:".length));
  });

  test("podman push stores the image in wharf", async () => {
    const digestFile = join(dir, "push.digest");
    await podman("push", "--tls-verify=false", "--digestfile", digestFile, image("podman/busybox:v1"));
    pushedDigest = (await readFile(digestFile, "utf8")).trim();

    const { digest, manifest } = await manifestAt("podman/busybox", "v1");
    assert.equal(digest, pushedDigest);
    assert.equal(manifest.config.digest, busybox.config.digest);
    assert.deepEqual(
      await blobAt("podman/busybox", busybox.config.digest),
      await readFile(join(layout, "blobs", "sha256", busybox.config.digest.slice(7))),
    );
    // podman recompresses layers from its storage, so compare what they unpack to with the config's diff ids.
    assert.equal(manifest.layers.length, busybox.layers.length);
    for (const [i, layer] of manifest.layers.entries()) {
      const tar = gunzipSync(await blobAt("podman/busybox", layer.digest));
      assert.equal(sha256(tar), busybox.diffIds[i]);
    }
  });

  test("podman pull brings the image back from wharf after it was removed", async () => {
    await podman("rmi", "--all", "--force");
    const gone = await run("podman", ["image", "exists", image("podman/busybox:v1")], {
      env: containers.env,
      allowFailure: true,
    });
    assert.equal(gone.code, 1, "image still present after rmi");

    await podman("pull", "--tls-verify=false", image("podman/busybox:v1"));
    const info = await inspectImage(image("podman/busybox:v1"));
    assert.equal(info.Id, busybox.config.digest.slice("sha256:".length));
    assert.equal(info.Digest, pushedDigest);
    assert.ok(
      info.RepoDigests.includes(`${image("podman/busybox")}@${pushedDigest}`),
      `RepoDigests: ${info.RepoDigests.join(", ")}`,
    );
  });

  test("podman runs the pulled image", async () => {
    const hi = await podman(
      "run",
      "--rm",
      "--pull=never",
      image("podman/busybox:v1"),
      "/bin/busybox",
      "echo",
      "hi",
    );
    assert.equal(hi.stdout, "hi\n");
    // /bin/sh is the layer's symlink to busybox.
    const sh = await podman(
      "run",
      "--rm",
      "--pull=never",
      image("podman/busybox:v1"),
      "/bin/sh",
      "-c",
      "echo $((6 * 7))",
    );
    assert.equal(sh.stdout, "42\n");
  });

  test("buildah builds on the image from wharf and pushes the result back", async () => {
    await writeFile(join(dir, "hello.txt"), "built by buildah\n");
    const container = "wharf-buildah";
    await buildah("from", "--tls-verify=false", "--name", container, image("podman/busybox:v1"));
    await buildah("copy", container, join(dir, "hello.txt"), "/hello.txt");
    await buildah("config", "--cmd", '["/bin/busybox", "cat", "/hello.txt"]', container);
    await buildah("commit", "--format", "oci", container, image("buildah/app:v1"));
    await buildah("rm", container);
    const digestFile = join(dir, "buildah.digest");
    await buildah("push", "--tls-verify=false", "--digestfile", digestFile, image("buildah/app:v1"));
    const pushed = (await readFile(digestFile, "utf8")).trim();

    const { digest, manifest } = await manifestAt("buildah/app", "v1");
    assert.equal(digest, pushed);
    assert.equal(manifest.layers.length, 2);
    // The base layer is the blob podman pushed, not a second compression of it.
    const base = await manifestAt("podman/busybox", "v1");
    assert.equal(manifest.layers[0]!.digest, base.manifest.layers[0]!.digest);

    await podman("rmi", "--force", image("buildah/app:v1"));
    await podman("pull", "--tls-verify=false", image("buildah/app:v1"));
    const out = await podman("run", "--rm", "--pull=never", image("buildah/app:v1"));
    assert.equal(out.stdout, "built by buildah\n");
  });
});
