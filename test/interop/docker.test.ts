import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { buildBusyboxImage, sha256, skopeo, startDockerd, type BuiltImage, type Dockerd } from "./support.js";

interface Inspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Os: string;
  Architecture: string;
  RootFS: { Layers: string[] };
}

/**
 * docker (Debian's docker.io 20.10) against wharf serve, through a private dockerd whose state lives in a
 * temporary directory. The image is built offline with umoci and loaded as a docker-archive.
 */
describe("docker against wharf serve", { timeout: 600_000 }, () => {
  let wharf: TestServer;
  let dir: string;
  let daemon: Dockerd | undefined;
  /** Why dockerd could not be started here (then every test skips, saying so). */
  let unavailable: string | undefined;
  let image: BuiltImage;
  let loaded: Inspect;
  let pushedDigest: string;
  const target = () => `${wharf.host}/team/tiny`;

  const docker = (args: string[]) => {
    assert.ok(daemon);
    return daemon.docker(args);
  };
  const inspect = async (ref: string) =>
    (JSON.parse((await docker(["image", "inspect", ref])).stdout) as Inspect[])[0] as Inspect;
  const skipIfNoDaemon = (t: TestContext) => {
    if (unavailable) t.skip(`dockerd cannot run here: ${unavailable}`);
    return unavailable !== undefined;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-docker-"));
    const [server, built, started] = await Promise.all([
      startWharf(),
      buildBusyboxImage(join(dir, "layout"), "v1", "hello from wharf"),
      // A real attempt to start the daemon; only its failure makes the tests skip.
      startDockerd(join(dir, "d")).catch((err: Error) => {
        unavailable = err.message;
        return undefined;
      }),
    ]);
    wharf = server;
    image = built;
    daemon = started;
    if (!daemon) return;
    const sk = await skopeo(join(dir, "skopeo"));
    const archive = join(dir, "tiny.tar");
    await sk(["copy", `oci:${image.layout}:v1`, `docker-archive:${archive}:tiny:v1`]);
    await docker(["load", "-i", archive]);
    loaded = await inspect("tiny:v1");
  });
  after(async () => {
    await daemon?.stop();
    await wharf?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("the offline-built image loads with the config digest as its ID", (t) => {
    if (skipIfNoDaemon(t)) return;
    assert.equal(loaded.Id, image.manifest.config.digest);
    assert.deepEqual(loaded.RepoDigests, []);
    assert.equal(loaded.Os, "linux");
  });

  test("docker push to 127.0.0.1 uses plain HTTP and stores a Docker schema 2 manifest", async (t) => {
    if (skipIfNoDaemon(t)) return;
    await docker(["tag", "tiny:v1", `${target()}:v1`]);
    const pushed = await docker(["push", `${target()}:v1`]);
    const m = /v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(pushed.stdout);
    assert.ok(m?.[1] && m[2], pushed.stdout);
    pushedDigest = m[1];

    const res = await fetch(`${wharf.url}/v2/team/tiny/manifests/v1`, {
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/vnd.docker.distribution.manifest.v2+json");
    assert.equal(res.headers.get("docker-content-digest"), pushedDigest);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), pushedDigest);
    assert.equal(bytes.length, Number(m[2]));
    const manifest = JSON.parse(bytes.toString("utf8")) as {
      config: { digest: string };
      layers: { mediaType: string }[];
    };
    assert.equal(manifest.config.digest, loaded.Id, "the config (image ID) is unchanged");
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0]?.mediaType, "application/vnd.docker.image.rootfs.diff.tar.gzip");

    const after = await inspect(`${target()}:v1`);
    assert.deepEqual(after.RepoDigests, [`${target()}@${pushedDigest}`]);
  });

  test("pushing again finds every layer already there", async (t) => {
    if (skipIfNoDaemon(t)) return;
    await docker(["tag", "tiny:v1", `${target()}:v2`]);
    const again = await docker(["push", `${target()}:v2`]);
    assert.match(again.stdout, /Layer already exists/);
    assert.match(again.stdout, new RegExp(`v2: digest: ${pushedDigest}`));
  });

  test("after docker rmi, docker pull brings back the same image ID and repo digest", async (t) => {
    if (skipIfNoDaemon(t)) return;
    await docker(["rmi", "tiny:v1", `${target()}:v1`, `${target()}:v2`]);
    const gone = await docker(["image", "inspect", `${target()}:v1`]).then(
      () => false,
      () => true,
    );
    assert.ok(gone, "the image is still in the daemon after docker rmi");

    const pulled = await docker(["pull", `${target()}:v1`]);
    assert.match(pulled.stdout, new RegExp(`Digest: ${pushedDigest}`));
    assert.match(pulled.stdout, /Downloaded newer image/);
    const back = await inspect(`${target()}:v1`);
    assert.equal(back.Id, loaded.Id);
    assert.deepEqual(back.RootFS.Layers, loaded.RootFS.Layers);
    assert.deepEqual(back.RepoDigests, [`${target()}@${pushedDigest}`]);

    const byDigest = await docker(["pull", `${target()}@${pushedDigest}`]);
    assert.match(byDigest.stdout, /Image is up to date/);
  });

  test("the pulled image runs", async (t) => {
    if (skipIfNoDaemon(t)) return;
    const ran = await docker(["run", "--rm", "--network", "none", `${target()}:v1`]);
    assert.equal(ran.stdout, "hello from wharf\n");
  });

  test("pulling a tag that does not exist fails with not found", async (t) => {
    if (skipIfNoDaemon(t)) return;
    const missing = await daemon!.docker(["pull", `${target()}:nope`], { allowFailure: true });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found|manifest unknown/i);
  });
});
