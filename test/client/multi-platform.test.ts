import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome } from "./cli.js";
import { pushArtifact, sha256 } from "./fixtures.js";
import { Client, type ManifestData } from "../../src/client/index.js";
import { MediaType } from "../../src/oci/media-types.js";
import { hostPlatform } from "../../src/client/platform.js";

const PLATFORMS = ["linux/amd64", "linux/arm64"];

describe("multi-platform indexes: which platform was taken is said, and carried in --json", () => {
  let server: TestServer;
  let cli: CliHome;
  let client: Client;
  const manifests: Record<string, string> = {};
  let index: string;
  // The platform wharf takes by default here: this machine's, if the index has it.
  const mine = PLATFORMS.includes(hostPlatform()) ? hostPlatform() : "linux/amd64";

  before(async () => {
    server = await startWharf();
    cli = await cliHome();
    client = new Client();
    const registry = client.registry(server.host);
    const children = [];
    for (const platform of PLATFORMS) {
      const data = await pushArtifact(registry, "team/tool", platform.replace("/", "-"), [
        Buffer.from(platform),
      ]);
      manifests[platform] = data.digest;
      const [os, architecture] = platform.split("/");
      children.push({
        mediaType: MediaType.OciManifest,
        digest: data.digest,
        size: data.bytes.length,
        platform: { os, architecture },
      });
    }
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: children }),
    );
    const data: ManifestData = { bytes, mediaType: MediaType.OciIndex, digest: sha256(bytes) };
    await registry.putManifest("team/tool", "v1", data);
    index = data.digest;
  });
  after(async () => {
    client.close();
    await server.stop();
    await cli.cleanup();
  });

  test("pull without --platform says what it picked; --json has the index and the manifest", async () => {
    const out = join(cli.dir, "pulled");
    const pulled = await cli.run(["pull", `${server.host}/team/tool:v1`, "-o", out]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.ok(
      pulled.stderr.includes(
        `${index} is a multi-platform index (linux/amd64, linux/arm64): picked ${mine} (${manifests[mine]})`,
      ),
      pulled.stderr,
    );
    assert.match(pulled.stderr, /choose another with --platform/);
    assert.equal(await readFile(join(out, "file0.txt"), "utf8"), mine);

    const json = await cli.run([
      "pull",
      `${server.host}/team/tool:v1`,
      "-o",
      out,
      "--platform",
      "linux/arm64",
      "--json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as { digest: string; index: { digest: string }; platform: string };
    assert.equal(result.index.digest, index);
    assert.equal(result.digest, manifests["linux/arm64"]);
    assert.equal(result.platform, "linux/arm64");
  });

  test("cp without --all says what it picked; --json has both digests; --all copies the index", async () => {
    const copied = await cli.run(["cp", `${server.host}/team/tool:v1`, `${server.host}/copy/tool:v1`]);
    assert.equal(copied.code, 0, copied.stderr);
    assert.ok(copied.stderr.includes(`picked ${mine} (${manifests[mine]})`), copied.stderr);
    assert.match(copied.stderr, /--all/);
    assert.equal(copied.stdout.trim(), manifests[mine]);

    const json = await cli.run([
      "cp",
      `${server.host}/team/tool:v1`,
      `${server.host}/copy/tool:v2`,
      "--json",
    ]);
    const result = JSON.parse(json.stdout) as { digest: string; index: { digest: string } };
    assert.equal(result.index.digest, index);
    assert.equal(result.digest, manifests[mine]);

    const all = await cli.run([
      "cp",
      `${server.host}/team/tool:v1`,
      `${server.host}/copy/tool:all`,
      "--all",
      "--json",
    ]);
    const whole = JSON.parse(all.stdout) as { digest: string; index?: unknown };
    assert.equal(whole.digest, index);
    assert.equal(whole.index, undefined);
    assert.doesNotMatch(all.stderr, /multi-platform index/);
  });

  test("--platform must be os/arch[/variant]", async () => {
    for (const bad of ["linux", "linux/amd64/v8/extra", "linux/", "linux amd64"]) {
      for (const args of [
        ["pull", `${server.host}/team/tool:v1`, "-o", join(cli.dir, "bad"), "--platform", bad],
        ["cp", `${server.host}/team/tool:v1`, `${server.host}/copy/bad:v1`, "--platform", bad],
      ]) {
        const result = await cli.run(args);
        assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
        assert.match(result.stderr, /expected os\/arch\[\/variant\]/);
      }
    }
    const variant = await cli.run([
      "pull",
      `${server.host}/team/tool:v1`,
      "-o",
      join(cli.dir, "v"),
      "--platform",
      "linux/arm64/v8",
    ]);
    assert.equal(variant.code, 3, "a valid platform the index lacks is not found, not bad input");
  });
});
