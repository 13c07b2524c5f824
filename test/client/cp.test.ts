import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { cliHome, type CliHome } from "./cli.js";
import { makeWorkspace, type Workspace } from "./workspace.js";
import { describeBytes, manifestData, pushArtifact } from "./fixtures.js";
import { Client, EMPTY_CONFIG, type ManifestData } from "../../src/client/index.js";
import { hostPlatform } from "../../src/client/platform.js";
import { MediaType } from "../../src/oci/media-types.js";

interface CopyJson {
  digest: string;
  manifests: number;
  referrers: number;
  blobs: { copied: number; mounted: number; existing: number };
}

describe("cp between wharf serve, Distribution and OCI layouts", () => {
  let wharf: TestServer;
  let distribution: Distribution;
  let cli: CliHome;
  let ws: Workspace;
  let client: Client;
  let artifact: string;
  let signature: ManifestData;

  before(async () => {
    [wharf, distribution] = await Promise.all([startWharf(), startDistribution()]);
    cli = await cliHome();
    ws = await makeWorkspace(cli.dir);
    client = new Client();
    const pushed = await cli.run(["push", `${wharf.host}/team/deploy:v1`, ws.manifests, ws.notes]);
    assert.equal(pushed.code, 0, pushed.stderr);
    artifact = pushed.stdout.trim();
    // A signature referring to it.
    const subject = await client.registry(wharf.host).resolve("team/deploy", "v1");
    signature = manifestData({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: "application/vnd.example.signature",
      config: { mediaType: EMPTY_CONFIG.mediaType, digest: EMPTY_CONFIG.digest, size: EMPTY_CONFIG.size },
      layers: [],
      subject,
    });
    await client.registry(wharf.host).putManifest("team/deploy", signature.digest, signature);
  });
  after(async () => {
    client.close();
    await Promise.all([wharf.stop(), distribution.stop()]);
    await cli.cleanup();
  });

  test("registry to registry with referrers; Distribution gets the sha256-<hex> fallback tag", async () => {
    const copied = await cli.run([
      "cp",
      `${wharf.host}/team/deploy:v1`,
      `${distribution.host}/mirror/deploy`,
      "--referrers",
      "--json",
    ]);
    assert.equal(copied.code, 0, copied.stderr);
    const result = JSON.parse(copied.stdout) as CopyJson;
    assert.equal(result.digest, artifact);
    assert.equal(result.referrers, 1);
    assert.equal(result.blobs.copied, 3, "config and two layers transferred");

    const info = await cli.run(["info", `${distribution.host}/mirror/deploy:v1`, "--json"]);
    const parsed = JSON.parse(info.stdout) as {
      digest: string;
      referrers: { digest: string; artifactType: string }[];
    };
    assert.equal(parsed.digest, artifact, "digest preserved");
    assert.deepEqual(
      parsed.referrers.map((r) => [r.digest, r.artifactType]),
      [[signature.digest, "application/vnd.example.signature"]],
    );
    const tags = await cli.run(["ls", `${distribution.host}/mirror/deploy`, "--all", "--json"]);
    const listed = (JSON.parse(tags.stdout) as { tags: { tag: string }[] }).tags.map((t) => t.tag);
    assert.ok(listed.includes(artifact.replace(":", "-")), "fallback tag written");

    const again = await cli.run([
      "cp",
      `${wharf.host}/team/deploy:v1`,
      `${distribution.host}/mirror/deploy`,
      "--json",
    ]);
    assert.equal((JSON.parse(again.stdout) as CopyJson).blobs.existing, 3, "nothing transferred twice");

    const pulled = await cli.run([
      "pull",
      `${distribution.host}/mirror/deploy:v1`,
      "-o",
      join(cli.dir, "mirror"),
    ]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(
      await readFile(join(cli.dir, "mirror", "notes.txt"), "utf8"),
      await readFile(ws.notes, "utf8"),
    );
  });

  test("within one registry blobs are mounted, not transferred", async () => {
    const copied = await cli.run([
      "cp",
      `${wharf.host}/team/deploy:v1`,
      `${wharf.host}/prod/deploy:live`,
      "--json",
    ]);
    assert.equal(copied.code, 0, copied.stderr);
    const result = JSON.parse(copied.stdout) as CopyJson;
    assert.equal(result.blobs.mounted, 3);
    assert.equal(result.blobs.copied, 0);
    const resolved = await client.registry(wharf.host).resolve("prod/deploy", "live");
    assert.equal(resolved.digest, artifact);
  });

  test("registry to OCI layout and back, digests preserved", async () => {
    const layout = join(cli.dir, "airgap");
    const out = await cli.run([
      "cp",
      `${distribution.host}/mirror/deploy:v1`,
      `oci:${layout}:v1`,
      "--referrers",
    ]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), artifact);
    const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    assert.ok(
      index.manifests.some(
        (m) => m.digest === artifact && m.annotations?.["org.opencontainers.image.ref.name"] === "v1",
      ),
    );
    assert.ok(
      index.manifests.some((m) => m.digest === signature.digest),
      "the referrer came along, untagged",
    );
    assert.deepEqual(JSON.parse(await readFile(join(layout, "oci-layout"), "utf8")), {
      imageLayoutVersion: "1.0.0",
    });
    assert.equal((await readdir(join(layout, "blobs", "sha256"))).length, 5, "config, 2 layers, 2 manifests");

    const info = await cli.run(["info", `oci:${layout}:v1`, "--json"]);
    const parsed = JSON.parse(info.stdout) as { digest: string; referrers: { digest: string }[] };
    assert.equal(parsed.digest, artifact);
    assert.deepEqual(
      parsed.referrers.map((r) => r.digest),
      [signature.digest],
    );

    const back = await cli.run([
      "cp",
      `oci:${layout}:v1`,
      `${wharf.host}/restored/deploy:v1`,
      "--referrers",
      "--chunk-size",
      "64",
    ]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(back.stdout.trim(), artifact);
    const referrers = await client.registry(wharf.host).referrers("restored/deploy", artifact);
    assert.deepEqual(
      referrers.descriptors.map((d) => d.digest),
      [signature.digest],
    );

    const push = await cli.run(["push", `oci:${join(cli.dir, "pushed")}:v1`, ws.notes]);
    assert.equal(push.code, 0, push.stderr);
    const missing = await cli.run(["cp", `oci:${layout}:nope`, `${wharf.host}/x/y:v1`]);
    assert.equal(missing.code, 3, missing.stderr);
  });

  test("an index: this platform only by default, everything with --all", async () => {
    const registry = client.registry(wharf.host);
    const children: { platform: { os: string; architecture: string }; data: ManifestData }[] = [];
    for (const arch of ["amd64", "arm64", "riscv64"]) {
      const data = await pushArtifact(registry, "multi/app", `only-${arch}`, [
        Buffer.from(`binary for ${arch}`),
      ]);
      children.push({ platform: { os: "linux", architecture: arch }, data });
    }
    const index = manifestData({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: children.map((c) => ({
        ...describeBytes(c.data.bytes, MediaType.OciManifest),
        platform: c.platform,
      })),
    });
    index.mediaType = MediaType.OciIndex;
    await registry.putManifest("multi/app", "v1", index);

    const one = await cli.run([
      "cp",
      `${wharf.host}/multi/app:v1`,
      `${distribution.host}/multi/app:v1`,
      "--platform",
      "linux/arm64",
      "--json",
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal((JSON.parse(one.stdout) as CopyJson).digest, children[1]?.data.digest);
    const all = await cli.run([
      "cp",
      `${wharf.host}/multi/app:v1`,
      `${distribution.host}/multi/all:v1`,
      "--all",
      "--json",
    ]);
    assert.equal(all.code, 0, all.stderr);
    const result = JSON.parse(all.stdout) as CopyJson;
    assert.equal(result.digest, index.digest);
    assert.equal(result.manifests, 4);
    const info = await cli.run(["info", `${distribution.host}/multi/all:v1`]);
    assert.match(info.stdout, /linux\/riscv64/);
    const host = await cli.run([
      "cp",
      `${wharf.host}/multi/app:v1`,
      `oci:${join(cli.dir, "host")}`,
      "--json",
    ]);
    if (["linux/amd64", "linux/arm64", "linux/riscv64"].includes(hostPlatform())) {
      assert.equal(host.code, 0, host.stderr);
    } else assert.equal(host.code, 3);
  });
});
