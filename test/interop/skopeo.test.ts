import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { podmanEnv, run, type PodmanEnv, type RunResult } from "../helpers/clients.js";
import {
  layoutBlobs,
  readLayoutBlob,
  resolveLayoutTag,
  sha256,
  writeBusyboxLayout,
  writeImageLayout,
  writeIndexLayout,
  type WrittenImage,
  type WrittenIndex,
} from "../helpers/oci-layout.js";

interface Inspect {
  Digest: string;
  Architecture: string;
  Os: string;
  Layers: string[];
  Env: string[];
}

describe("skopeo against wharf serve", { timeout: 600_000 }, () => {
  let wharf: TestServer;
  let dir: string;
  let containers: PodmanEnv;
  let src: string;
  let busybox: WrittenImage;
  let small: WrittenImage;
  let multi: WrittenIndex;

  /** Runs skopeo with a private policy, registries.conf and auth file. */
  function skopeo(...args: string[]): Promise<RunResult> {
    return run("skopeo", ["--policy", containers.policy, ...args], { env: containers.env, timeout: 90_000 });
  }
  function skopeoMayFail(...args: string[]): Promise<RunResult> {
    return run("skopeo", ["--policy", containers.policy, ...args], {
      env: containers.env,
      timeout: 90_000,
      allowFailure: true,
    });
  }
  const ref = (repoAndTag: string) => `docker://${wharf.host}/${repoAndTag}`;
  const push = (from: string, to: string, ...flags: string[]) =>
    skopeo("copy", "--dest-tls-verify=false", ...flags, from, ref(to));
  const inspectRaw = async (repoAndTag: string) =>
    (await skopeo("inspect", "--tls-verify=false", "--raw", ref(repoAndTag))).stdout;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-skopeo-"));
    [wharf, containers] = await Promise.all([startWharf(), podmanEnv(join(dir, "containers"))]);
    src = join(dir, "src");
    busybox = await writeBusyboxLayout(src, "v1");
    small = await writeImageLayout(src, {
      tag: "v2",
      files: { "etc/motd": "hello from wharf\n", "srv/data.txt": "x".repeat(10_000) },
    });
    multi = await writeIndexLayout(src, {
      tag: "multi",
      images: [
        { platform: { os: "linux", architecture: "amd64" }, files: { "arch.txt": "amd64\n" } },
        { platform: { os: "linux", architecture: "arm64", variant: "v8" }, files: { "arch.txt": "arm64\n" } },
      ],
    });
  });

  after(async () => {
    await wharf?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("copies an OCI layout to wharf and back with every digest preserved", async () => {
    await push(`oci:${src}:v1`, "interop/app:v1");
    const back = join(dir, "back");
    await skopeo("copy", "--src-tls-verify=false", ref("interop/app:v1"), `oci:${back}:v1`);

    const tagged = await resolveLayoutTag(back, "v1");
    assert.equal(tagged?.digest, busybox.digest, "manifest digest changed on the round trip");
    assert.deepEqual(
      await layoutBlobs(back),
      [busybox.digest, busybox.config.digest, ...busybox.layers.map((l) => l.digest)].sort(),
    );
    assert.deepEqual(await readLayoutBlob(back, busybox.digest), busybox.bytes);
    for (const layer of busybox.layers) {
      assert.equal(sha256(await readLayoutBlob(back, layer.digest)), layer.digest);
    }
  });

  test("inspect --raw returns the pushed manifest bytes", async () => {
    const raw = await inspectRaw("interop/app:v1");
    assert.equal(raw, busybox.bytes.toString("utf8"));
    // And by digest, through wharf's own Docker-Content-Digest.
    assert.equal(await inspectRaw(`interop/app@${busybox.digest}`), busybox.bytes.toString("utf8"));
    const res = await fetch(`${wharf.url}/v2/interop/app/manifests/v1`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), busybox.digest);
  });

  test("inspect reads the config through wharf", async () => {
    const info = JSON.parse(
      (await skopeo("inspect", "--tls-verify=false", ref("interop/app:v1"))).stdout,
    ) as Inspect;
    assert.equal(info.Digest, busybox.digest);
    assert.equal(info.Os, "linux");
    assert.equal(info.Architecture, busybox.platform.architecture);
    assert.deepEqual(
      info.Layers,
      busybox.layers.map((l) => l.digest),
    );
    const config = JSON.parse(
      (await skopeo("inspect", "--tls-verify=false", "--config", "--raw", ref("interop/app:v1"))).stdout,
    ) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, busybox.diffIds);
  });

  test("list-tags returns every tag of the repository", async () => {
    await push(`oci:${src}:v2`, "interop/app:v2");
    await push(`oci:${src}:v2`, "interop/app:latest");
    const listed = JSON.parse(
      (await skopeo("list-tags", "--tls-verify=false", ref("interop/app"))).stdout,
    ) as {
      Repository: string;
      Tags: string[];
    };
    assert.equal(listed.Repository, `${wharf.host}/interop/app`);
    assert.deepEqual([...listed.Tags].sort(), ["latest", "v1", "v2"]);
  });

  test("copy --all keeps a multi-platform index and every child manifest", async () => {
    await push(`oci:${src}:multi`, "interop/multi:latest", "--all");
    assert.equal(await inspectRaw("interop/multi:latest"), multi.bytes.toString("utf8"));
    for (const child of multi.manifests) {
      assert.equal(await inspectRaw(`interop/multi@${child.digest}`), child.bytes.toString("utf8"));
    }
    // Platform selection on the index happens in skopeo, from wharf's index and child manifests.
    const arm = JSON.parse(
      (await skopeo("--override-arch", "arm64", "inspect", "--tls-verify=false", ref("interop/multi:latest")))
        .stdout,
    ) as Inspect;
    assert.equal(arm.Architecture, "arm64");
    assert.deepEqual(
      arm.Layers,
      multi.manifests[1]!.layers.map((l) => l.digest),
    );

    const back = join(dir, "multi-back");
    await skopeo("copy", "--all", "--src-tls-verify=false", ref("interop/multi:latest"), `oci:${back}:multi`);
    assert.equal((await resolveLayoutTag(back, "multi"))?.digest, multi.digest);
    const expected = [multi.digest];
    for (const child of multi.manifests) {
      expected.push(child.digest, child.config.digest, ...child.layers.map((l) => l.digest));
    }
    assert.deepEqual(await layoutBlobs(back), [...new Set(expected)].sort());
  });

  test("copies between repositories on wharf (cross-repository mount)", async () => {
    const copied = await skopeo(
      "--debug",
      "copy",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      ref("interop/app:v1"),
      ref("other/app:v1"),
    );
    // skopeo remembers (in its blob-info cache) that the layer is in interop/app and mounts it from there.
    assert.match(copied.stderr, /Trying to mount .*from=interop%2Fapp/);
    assert.match(copied.stderr, /mount OK/);
    assert.equal(await inspectRaw("other/app:v1"), busybox.bytes.toString("utf8"));
    const blob = await fetch(`${wharf.url}/v2/other/app/blobs/${busybox.layers[0]!.digest}`);
    assert.equal(blob.status, 200);
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), busybox.layers[0]!.digest);
  });

  test("sync copies every tag of a repository to another repository and to a directory", async () => {
    await skopeo(
      "sync",
      "--src",
      "docker",
      "--dest",
      "docker",
      "--src-tls-verify=false",
      "--dest-tls-verify=false",
      `${wharf.host}/interop/app`,
      `${wharf.host}/mirror`,
    );
    const listed = JSON.parse(
      (await skopeo("list-tags", "--tls-verify=false", ref("mirror/app"))).stdout,
    ) as {
      Tags: string[];
    };
    assert.deepEqual([...listed.Tags].sort(), ["latest", "v1", "v2"]);
    assert.equal(await inspectRaw("mirror/app:v1"), busybox.bytes.toString("utf8"));
    assert.equal(await inspectRaw("mirror/app:v2"), small.bytes.toString("utf8"));
    assert.equal(await inspectRaw("mirror/app:latest"), small.bytes.toString("utf8"));

    const out = join(dir, "sync");
    await skopeo(
      "sync",
      "--src",
      "docker",
      "--dest",
      "dir",
      "--src-tls-verify=false",
      `${wharf.host}/interop/app`,
      out,
    );
    for (const [tag, image] of [
      ["v1", busybox],
      ["v2", small],
      ["latest", small],
    ] as const) {
      const manifest = await readFile(join(out, `app:${tag}`, "manifest.json"));
      assert.equal(sha256(manifest), image.digest, `app:${tag}`);
      for (const layer of image.layers) {
        const blob = await readFile(join(out, `app:${tag}`, layer.digest.slice("sha256:".length)));
        assert.equal(sha256(blob), layer.digest);
      }
    }
  });

  test("delete removes the manifest and its tags", async () => {
    await skopeo("delete", "--tls-verify=false", ref("mirror/app:v1"));
    const inspected = await skopeoMayFail("inspect", "--tls-verify=false", "--raw", ref("mirror/app:v1"));
    assert.notEqual(inspected.code, 0, "inspect succeeded after delete");
    assert.match(inspected.stderr, /manifest unknown|not found/i);
    const byDigest = await fetch(`${wharf.url}/v2/mirror/app/manifests/${busybox.digest}`);
    assert.equal(byDigest.status, 404);
    const listed = JSON.parse(
      (await skopeo("list-tags", "--tls-verify=false", ref("mirror/app"))).stdout,
    ) as {
      Tags: string[];
    };
    assert.deepEqual([...listed.Tags].sort(), ["latest", "v2"]);
    // The other repositories holding the same manifest are untouched.
    assert.equal(await inspectRaw("interop/app:v1"), busybox.bytes.toString("utf8"));
  });
});
