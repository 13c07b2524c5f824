import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import {
  buildBusyboxImage,
  exec,
  helm,
  packageChart,
  readLayoutBlob,
  sha256,
  skopeo,
  type BuiltImage,
  type Result,
} from "../interop/support.js";
import { cliHome, type CliHome } from "./cli.js";

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface ImageManifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}
interface LayoutIndex {
  manifests: (Descriptor & { annotations?: Record<string, string> })[];
}

async function layoutTag(layout: string, tag: string): Promise<Descriptor> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as LayoutIndex;
  const found = index.manifests.filter((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  assert.equal(found.length, 1, `${layout} has exactly one ${tag}: ${JSON.stringify(index)}`);
  return found[0] as Descriptor;
}

async function layoutBlobDigests(layout: string): Promise<string[]> {
  return (await readdir(join(layout, "blobs", "sha256"))).map((hex) => `sha256:${hex}`).sort();
}

/** Every blob of the layout is stored under its own digest. */
async function assertLayoutSound(layout: string): Promise<void> {
  const digests = await layoutBlobDigests(layout);
  assert.ok(digests.length >= 3, `${layout}: expected a manifest, a config and a layer at least`);
  for (const digest of digests) {
    assert.equal(
      sha256(await readLayoutBlob(layout, digest)),
      digest,
      `${layout}: blob ${digest} is damaged`,
    );
  }
}

async function getManifest(
  url: string,
  repo: string,
  ref: string,
): Promise<{ digest: string; bytes: Buffer }> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, {
    headers: {
      accept: [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ].join(", "),
    },
  });
  assert.equal(res.status, 200, `${repo}:${ref}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { digest: res.headers.get("docker-content-digest") ?? "", bytes };
}

describe("client interop: wharf with skopeo and helm against wharf serve", { timeout: 600_000 }, () => {
  let wharf: TestServer;
  let cli: CliHome;
  let sk: (args: string[]) => Promise<Result>;
  let host: string;

  before(async () => {
    [wharf, cli] = await Promise.all([startWharf(), cliHome()]);
    host = wharf.host;
    sk = await skopeo(join(cli.dir, "skopeo"));
  });
  after(async () => {
    await wharf?.stop();
    await cli?.cleanup();
  });

  test("skopeo copies an artifact pushed by wharf (files and a directory) to an OCI layout unchanged", async () => {
    const src = join(cli.dir, "artifact");
    await mkdir(join(src, "config", "overlays", "prod"), { recursive: true });
    await writeFile(join(src, "README.md"), "# release\n");
    await writeFile(join(src, "values.json"), '{"replicas":3}\n');
    await writeFile(join(src, "config", "base.yaml"), "kind: Kustomization\n");
    await writeFile(join(src, "config", "overlays", "prod", "patch.yaml"), "replicas: 3\n");
    const pushed = await cli.run(["push", `${host}/team/bundle:v1`, "README.md", "values.json", "config"], {
      cwd: src,
    });
    assert.equal(pushed.code, 0, pushed.stderr);
    const digest = pushed.stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);

    const stored = await getManifest(wharf.url, "team/bundle", "v1");
    assert.equal(stored.digest, digest);
    const manifest = JSON.parse(stored.bytes.toString("utf8")) as ImageManifest;
    assert.equal(manifest.layers.length, 3);
    assert.deepEqual(
      manifest.layers.map((l) => l.annotations?.["org.opencontainers.image.title"]),
      ["README.md", "values.json", "config"],
    );

    const layout = join(cli.dir, "skopeo-layout");
    await sk(["copy", "--src-tls-verify=false", `docker://${host}/team/bundle:v1`, `oci:${layout}:v1`]);
    const entry = await layoutTag(layout, "v1");
    assert.equal(entry.digest, digest, "skopeo kept the manifest digest");
    assert.equal(entry.size, stored.bytes.length);
    assert.ok((await readLayoutBlob(layout, digest)).equals(stored.bytes), "manifest bytes differ");
    const expected = [digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)].sort();
    assert.deepEqual(await layoutBlobDigests(layout), [...new Set(expected)].sort());
    await assertLayoutSound(layout);

    // And wharf reads skopeo's layout back: same files.
    const out = join(cli.dir, "from-layout");
    const pulled = await cli.run(["cp", `oci:${layout}:v1`, `${host}/team/bundle-copy:v1`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout.trim(), digest);
    const files = await cli.run(["pull", `${host}/team/bundle-copy:v1`, "-o", out]);
    assert.equal(files.code, 0, files.stderr);
    for (const file of ["README.md", "values.json", "config/base.yaml", "config/overlays/prod/patch.yaml"]) {
      assert.deepEqual(await readFile(join(out, file)), await readFile(join(src, file)), file);
    }
  });

  test("wharf pulls a chart pushed by helm push, byte-identical to the .tgz", async () => {
    const helmDir = join(cli.dir, "helm");
    const run = helm(helmDir);
    const chart = await packageChart(run, helmDir, "interop", "1.4.0");
    const pushed = await run(["push", chart, `oci://${host}/charts`]);
    const helmDigest = /Digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout + pushed.stderr)?.[1];
    assert.ok(helmDigest, pushed.stdout + pushed.stderr);

    const out = join(cli.dir, "chart-out");
    const pulled = await cli.run(["pull", `${host}/charts/interop:1.4.0`, "-o", out]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout.trim(), helmDigest);
    assert.deepEqual(await readdir(out), ["interop-1.4.0.tgz"]);
    assert.ok(
      (await readFile(join(out, "interop-1.4.0.tgz"))).equals(await readFile(chart)),
      "chart differs",
    );

    // `oci://` in front, as Helm writes it, works the same.
    const again = await cli.run(["pull", `oci://${host}/charts/interop:1.4.0`, "-o", join(cli.dir, "again")]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((await readFile(join(cli.dir, "again", "interop-1.4.0.tgz"))).equals(await readFile(chart)));

    const info = await cli.run(["info", `${host}/charts/interop:1.4.0`, "--json"]);
    assert.equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { artifactType: string; digest: string };
    assert.equal(parsed.artifactType, "application/vnd.cncf.helm.config.v1+json");
    assert.equal(parsed.digest, helmDigest);
  });

  describe("an image pushed by skopeo", () => {
    let image: BuiltImage;
    let manifestBytes: Buffer;

    before(async () => {
      image = await buildBusyboxImage(join(cli.dir, "umoci"), "v1");
      manifestBytes = await readLayoutBlob(image.layout, image.digest);
      await sk([
        "copy",
        "--dest-tls-verify=false",
        `oci:${image.layout}:v1`,
        `docker://${host}/img/busybox:v1`,
      ]);
    });

    test("skopeo pushed it unchanged", async () => {
      const stored = await getManifest(wharf.url, "img/busybox", "v1");
      assert.equal(stored.digest, image.digest);
      assert.ok(stored.bytes.equals(manifestBytes));
    });

    test("wharf cp copies it to another repository, digest preserved, blobs mounted", async () => {
      const copied = await cli.run(["cp", `${host}/img/busybox:v1`, `${host}/mirror/busybox:stable`]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.equal(copied.stdout.trim(), image.digest);
      assert.match(copied.stderr, /0 blob\(s\) transferred.*2 mounted/);
      const stored = await getManifest(wharf.url, "mirror/busybox", "stable");
      assert.equal(stored.digest, image.digest);
      assert.ok(stored.bytes.equals(manifestBytes));
      for (const blob of [image.manifest.config, ...image.manifest.layers]) {
        const res = await fetch(`${wharf.url}/v2/mirror/busybox/blobs/${blob.digest}`);
        assert.equal(res.status, 200, blob.digest);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), blob.digest);
      }
    });

    test("wharf cp copies it to an OCI layout that skopeo reads", async () => {
      const layout = join(cli.dir, "wharf-layout");
      const copied = await cli.run(["cp", `${host}/img/busybox:v1`, `oci:${layout}:v1`]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.equal(copied.stdout.trim(), image.digest);
      const entry = await layoutTag(layout, "v1");
      assert.equal(entry.digest, image.digest);
      assert.ok((await readLayoutBlob(layout, image.digest)).equals(manifestBytes));
      // Exactly the image's blobs (umoci's own layout also keeps the intermediate manifests of each step).
      const blobs = [
        image.digest,
        image.manifest.config.digest,
        ...image.manifest.layers.map((l) => l.digest),
      ];
      assert.deepEqual(await layoutBlobDigests(layout), blobs.sort());
      await assertLayoutSound(layout);

      const inspected = JSON.parse((await sk(["inspect", `oci:${layout}:v1`])).stdout) as {
        Digest: string;
        Layers: string[];
        Os: string;
      };
      assert.equal(inspected.Digest, image.digest);
      assert.deepEqual(
        inspected.Layers,
        image.manifest.layers.map((l) => l.digest),
      );
      assert.equal(inspected.Os, "linux");
      // umoci checks the layout too and unpacks nothing of ours: just stat it.
      const stat = await exec("umoci", ["stat", "--image", `${layout}:v1`, "--json"]);
      assert.ok(JSON.parse(stat.stdout), stat.stdout);
    });

    test("wharf info shows its media type, digest and layers", async () => {
      const text = await cli.run(["info", `${host}/img/busybox:v1`]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /Media type:\s+application\/vnd\.oci\.image\.manifest\.v1\+json/);
      assert.match(text.stdout, new RegExp(`Digest:\\s+${image.digest}`));
      assert.match(text.stdout, /Layers \(1\):/);
      const layer = image.manifest.layers[0];
      assert.ok(layer);
      assert.ok(text.stdout.includes(layer.digest.slice(0, 19)), text.stdout);
      assert.ok(text.stdout.includes(layer.mediaType), text.stdout);

      const json = await cli.run(["info", `${host}/img/busybox:v1`, "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const info = JSON.parse(json.stdout) as {
        digest: string;
        mediaType: string;
        size: number;
        config: Descriptor;
        layers: Descriptor[];
      };
      assert.equal(info.digest, image.digest);
      assert.equal(info.mediaType, "application/vnd.oci.image.manifest.v1+json");
      assert.equal(info.size, manifestBytes.length);
      assert.equal(info.config.digest, image.manifest.config.digest);
      assert.deepEqual(
        info.layers.map((l) => l.digest),
        image.manifest.layers.map((l) => l.digest),
      );

      const fromLayout = await cli.run(["info", `oci:${join(cli.dir, "wharf-layout")}:v1`, "--json"]);
      assert.equal(fromLayout.code, 0, fromLayout.stderr);
      assert.equal((JSON.parse(fromLayout.stdout) as { digest: string }).digest, image.digest);
    });

    test("wharf pull of an image caches its layers and writes no files", async () => {
      const out = join(cli.dir, "image-out");
      const pulled = await cli.run(["pull", `${host}/img/busybox:v1`, "-o", out, "--json"]);
      assert.equal(pulled.code, 0, pulled.stderr);
      const result = JSON.parse(pulled.stdout) as { digest: string; files: string[]; skipped: number };
      assert.equal(result.digest, image.digest);
      assert.deepEqual(result.files, []);
      assert.equal(result.skipped, 1);
      await rm(out, { recursive: true, force: true });
    });
  });
});
