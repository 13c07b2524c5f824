import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { podmanEnv, run, type PodmanEnv, type RunResult } from "../helpers/clients.js";
import { hostPlatform, writeBusyboxLayout, writeIndexLayout } from "../helpers/oci-layout.js";
import { apiOk, type ArtifactDetail } from "../discovery/support.js";
import { cliHome, type CliHome } from "../client/cli.js";
import { buildBusyboxImage } from "./support.js";

interface InfoJson {
  digest: string;
  mediaType: string;
  kind: { id: string };
  kindSource: string;
}

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/**
 * The kind the discovery API and `wharf info` give to images pushed the way their ecosystems push them:
 * podman (Docker and OCI formats), buildah, umoci + skopeo, and a multi-platform index copied by skopeo.
 * One busybox image (written offline) is the base of the podman and buildah pushes. podman, buildah and
 * skopeo run with private storage and configuration (see podmanEnv).
 */
describe("artifact kinds of images pushed by real clients", { timeout: 600_000 }, () => {
  let wharf: TestServer;
  let dir: string;
  let containers: PodmanEnv;
  let cli: CliHome;
  const platform = hostPlatform();
  const hostPlatformText = `${platform.os}/${platform.architecture}`;

  const podman = (...args: string[]): Promise<RunResult> =>
    run("podman", args, { env: containers.env, timeout: 120_000, cwd: dir });
  const buildah = (...args: string[]): Promise<RunResult> =>
    run("buildah", args, { env: containers.env, timeout: 120_000, cwd: dir });
  const skopeoCopy = (from: string, to: string, ...flags: string[]): Promise<RunResult> =>
    run(
      "skopeo",
      ["--policy", containers.policy, "copy", "--dest-tls-verify=false", ...flags, from, `docker://${to}`],
      { env: containers.env, timeout: 120_000 },
    );
  const image = (repoAndTag: string) => `${wharf.host}/${repoAndTag}`;
  const detail = async (ref: string): Promise<ArtifactDetail> =>
    (await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${ref}`)).body;
  const info = async (ref: string): Promise<InfoJson> => {
    const result = await cli.run(["info", image(ref), "--json", "--no-referrers"]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as InfoJson;
  };
  /** The kind through the API and through `wharf info`, which must agree on it and on the digest. */
  async function assertKind(ref: string, kind: string, mediaType: string): Promise<ArtifactDetail> {
    const api = await detail(ref);
    assert.equal(api.kind.id, kind, `${ref} through the API`);
    const cliInfo = await info(ref);
    assert.equal(cliInfo.kind.id, kind, `${ref} through wharf info`);
    assert.equal(cliInfo.kindSource, "wharf-api");
    assert.equal(cliInfo.mediaType, mediaType, `${ref}: pushed as ${cliInfo.mediaType}`);
    assert.equal(cliInfo.digest, api.digest);
    return api;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-kinds-clients-"));
    [wharf, containers, cli] = await Promise.all([
      startWharf(),
      podmanEnv(join(dir, "containers")),
      cliHome(),
    ]);
    // Relative to `dir`: podman names the image after the layout's path, which must be lowercase.
    await writeBusyboxLayout(join(dir, "layout"), "v1");
    const pulled = await podman("pull", "--quiet", "oci:layout:v1");
    await podman("tag", pulled.stdout.trim(), "localhost/busybox:v1");
  });

  after(async () => {
    if (containers) {
      await run("buildah", ["rm", "--all"], { env: containers.env, allowFailure: true });
    }
    await wharf?.stop();
    await cli?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("podman push --format v2s2: a Docker image with its platform and one layer", async () => {
    await podman(
      "push",
      "--tls-verify=false",
      "--format",
      "v2s2",
      "localhost/busybox:v1",
      image("podman/docker:v1"),
    );
    const api = await assertKind("podman/docker:v1", "docker-image", DOCKER_MANIFEST);
    assert.deepEqual(api.facts.platforms, [hostPlatformText]);
    assert.equal(api.facts.layerCount, 1);
    assert.equal(api.layers.length, 1);
  });

  test("podman push --format oci: an OCI image with its platform and one layer", async () => {
    await podman(
      "push",
      "--tls-verify=false",
      "--format",
      "oci",
      "localhost/busybox:v1",
      image("podman/oci:v1"),
    );
    const api = await assertKind("podman/oci:v1", "oci-image", OCI_MANIFEST);
    assert.deepEqual(api.facts.platforms, [hostPlatformText]);
    assert.equal(api.facts.layerCount, 1);
  });

  test("buildah push: an OCI image built on busybox, with the added layer counted", async () => {
    await writeFile(join(dir, "hello.txt"), "built by buildah\n");
    const container = "wharf-kinds-buildah";
    await buildah("from", "--pull=never", "--name", container, "localhost/busybox:v1");
    await buildah("copy", container, join(dir, "hello.txt"), "/hello.txt");
    await buildah("commit", "--format", "oci", container, "localhost/buildah-app:v1");
    await buildah("rm", container);
    await buildah(
      "push",
      "--tls-verify=false",
      "localhost/buildah-app:v1",
      `docker://${image("buildah/app:v1")}`,
    );
    const api = await assertKind("buildah/app:v1", "oci-image", OCI_MANIFEST);
    assert.deepEqual(api.facts.platforms, [hostPlatformText]);
    assert.equal(api.facts.layerCount, 2);
  });

  test("umoci into an OCI layout, skopeo copy: an OCI image with umoci's platform and one layer", async () => {
    const built = await buildBusyboxImage(join(dir, "umoci"), "v1");
    await skopeoCopy(`oci:${built.layout}:v1`, image("umoci/busybox:v1"));
    const api = await assertKind("umoci/busybox:v1", "oci-image", OCI_MANIFEST);
    assert.equal(api.digest, built.digest);
    assert.deepEqual(api.facts.platforms, [hostPlatformText]);
    // umoci new makes no layer; umoci insert adds one.
    assert.equal(built.manifest.layers.length, 1);
    assert.equal(api.facts.layerCount, 1);
  });

  test("skopeo copy --all of a layout holding an index: a multi-platform image with its platforms", async () => {
    const layout = join(dir, "multi");
    const index = await writeIndexLayout(layout, {
      tag: "v1",
      images: [
        { platform: { os: "linux", architecture: "amd64" }, files: { "arch.txt": "amd64\n" } },
        { platform: { os: "linux", architecture: "arm", variant: "v7" }, files: { "arch.txt": "arm\n" } },
      ],
    });
    await skopeoCopy(`oci:${layout}:v1`, image("skopeo/multi:v1"), "--all");
    const api = await assertKind("skopeo/multi:v1", "image-index", OCI_INDEX);
    assert.equal(api.digest, index.digest);
    assert.deepEqual(api.facts.platforms, ["linux/amd64", "linux/arm/v7"]);
    // Each child is an OCI image of its own, reachable by digest.
    for (const child of index.manifests) {
      const childDetail = await detail(`skopeo/multi@${child.digest}`);
      assert.equal(childDetail.kind.id, "oci-image");
      assert.equal(childDetail.facts.layerCount, 1);
    }
  });
});
