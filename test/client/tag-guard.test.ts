import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cliHome, type CliHome, type CliResult } from "./cli.js";
import { ok, registries, type Registry } from "./registries.js";
import { sha256 } from "./fixtures.js";
import { backendOf } from "../helpers/backends.js";
import { Client, ExitCode, LayoutTarget, NotFoundError } from "../../src/client/index.js";

/**
 * Removes Wharf's default rule (version tags immutable on the server) from its database, then waits
 * until the server follows (it polls the rules' change counter every 250 ms): a forced move of a probe
 * tag succeeds within 20 tries 50 ms apart.
 */
async function removeDefaultRule(cli: CliHome, registry: Registry, a: string, b: string): Promise<void> {
  const dataDir = registry.dataDir ?? "";
  ok(await cli.run(["immutable", "rm", "semver", "--data-dir", dataDir], { env: await backendOf(dataDir) }));
  const probe = `${registry.host}/probe/app:v0.0.1`;
  ok(await cli.run(["push", probe, a]));
  let moved = false;
  for (let i = 0; i < 20 && !moved; i++) {
    moved = (await cli.run(["push", probe, i % 2 === 0 ? b : a, "--force"])).code === 0;
    if (!moved) await new Promise((done) => setTimeout(done, 50));
  }
  assert.ok(moved, "the server dropped its default rule within a second");
}

/** Refused by the client's version-tag guard: exit 8, one clear line naming the tag and both digests. */
function refused(result: CliResult, tag: string, current: string, wanted: string): void {
  assert.equal(result.code, ExitCode.ImmutableTag, `exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  assert.match(
    result.stderr,
    new RegExp(`:${tag.replaceAll(".", "\\.")} already points at ${current} \\(a version tag\\)`),
  );
  assert.match(result.stderr, /push a new version, or --force to move it/);
  assert.ok(result.stderr.includes(wanted), result.stderr);
}

// Neither registry has immutable tags of its own here (Distribution never does; this Wharf's default
// rule is removed first), so every refusal below is the client's, and --force really moves tags.
for (const { name, start } of registries) {
  describe(`version tags are not moved without --force: ${name}`, { timeout: 180_000 }, () => {
    let registry: Registry;
    let cli: CliHome;
    let client: Client;
    let fileA: string;
    let fileB: string;
    let fileC: string;
    let digestA: string;
    let digestB: string;

    const tagOf = async (repo: string, tag: string): Promise<string | undefined> => {
      try {
        return (await client.registry(registry.host).resolve(repo, tag)).digest;
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      }
    };
    const hasBlob = async (repo: string, digest: string) =>
      (await client.registry(registry.host).blobSize(repo, digest)) !== undefined;

    before(async () => {
      registry = await start();
      cli = await cliHome();
      client = new Client();
      fileA = join(cli.dir, "a.txt");
      fileB = join(cli.dir, "b.txt");
      fileC = join(cli.dir, "c.txt");
      await writeFile(fileA, "release A\n");
      await writeFile(fileB, "release B\n");
      if (registry.dataDir) await removeDefaultRule(cli, registry, fileA, fileB);
      await writeFile(fileC, "release C, never pushed by a refused command\n");
      digestA = ok(await cli.run(["push", `${registry.host}/team/app:v1.2.0`, fileA])).stdout.trim();
      digestB = ok(await cli.run(["push", `${registry.host}/team/app:scratch`, fileB])).stdout.trim();
      assert.notEqual(digestA, digestB);
    });
    after(async () => {
      client.close();
      await registry.stop();
      await cli.cleanup();
    });

    test("push: other content to an existing version tag is refused before any upload", async () => {
      const result = await cli.run(["push", `${registry.host}/team/app:v1.2.0`, fileC]);
      const wanted = ok(await cli.run(["push", `${registry.host}/elsewhere/app:x`, fileC])).stdout.trim();
      refused(result, "v1.2.0", digestA, wanted);
      assert.equal(await tagOf("team/app", "v1.2.0"), digestA, "the tag still points at the old digest");
      assert.equal(
        await hasBlob("team/app", sha256("release C, never pushed by a refused command\n")),
        false,
      );
      assert.equal(await hasBlob("team/app", sha256("release A\n")), true, "sanity: the check can say yes");
    });

    test("push: the same content again succeeds (CI retries are idempotent)", async () => {
      const again = ok(await cli.run(["push", `${registry.host}/team/app:v1.2.0`, fileA]));
      assert.equal(again.stdout.trim(), digestA);
      assert.equal(await tagOf("team/app", "v1.2.0"), digestA);
    });

    test("push --force moves the version tag", async () => {
      ok(await cli.run(["push", `${registry.host}/team/app:v9.0.0`, fileA]));
      refused(await cli.run(["push", `${registry.host}/team/app:v9.0.0`, fileB]), "v9.0.0", digestA, digestB);
      const forced = ok(await cli.run(["push", `${registry.host}/team/app:v9.0.0`, fileB, "--force"]));
      assert.equal(forced.stdout.trim(), digestB);
      assert.equal(await tagOf("team/app", "v9.0.0"), digestB);
    });

    test("push: tags that are not versions (latest, 1.2, main, v1) move freely", async () => {
      for (const tag of ["latest", "1.2", "main", "v1"]) {
        ok(await cli.run(["push", `${registry.host}/team/free:${tag}`, fileA]));
        const moved = ok(await cli.run(["push", `${registry.host}/team/free:${tag}`, fileB]));
        assert.equal(moved.stdout.trim(), digestB, tag);
        assert.equal(await tagOf("team/free", tag), digestB, tag);
      }
    });

    test("push: a pre-release version tag is guarded too; a new version is not", async () => {
      ok(await cli.run(["push", `${registry.host}/team/app:2.0.0-rc.1`, fileA]));
      refused(
        await cli.run(["push", `${registry.host}/team/app:2.0.0-rc.1`, fileB]),
        "2.0.0-rc.1",
        digestA,
        digestB,
      );
      assert.equal(await tagOf("team/app", "2.0.0-rc.1"), digestA);
      ok(await cli.run(["push", `${registry.host}/team/app:2.0.0-rc.2`, fileB]));
    });

    test("tag: refuses to move a version tag, checking every tag before writing any", async () => {
      const result = await cli.run(["tag", `${registry.host}/team/app@${digestB}`, "v3.0.0", "v1.2.0"]);
      refused(result, "v1.2.0", digestA, digestB);
      assert.equal(await tagOf("team/app", "v1.2.0"), digestA);
      assert.equal(await tagOf("team/app", "v3.0.0"), undefined, "the allowed tag was not written either");

      ok(await cli.run(["tag", `${registry.host}/team/app@${digestA}`, "v1.2.0", "stable"]));
      ok(await cli.run(["tag", `${registry.host}/team/app@${digestB}`, "stable"]));
      assert.equal(await tagOf("team/app", "stable"), digestB, "a non-version tag moves");

      ok(await cli.run(["tag", `${registry.host}/team/app:scratch`, "v4.0.0"]));
      ok(await cli.run(["tag", `${registry.host}/team/app@${digestA}`, "v4.0.0", "--force"]));
      assert.equal(await tagOf("team/app", "v4.0.0"), digestA);
    });

    test("cp: refuses to move a version tag at the destination before copying anything", async () => {
      ok(await cli.run(["push", `${registry.host}/source/app:v1.2.0`, fileC]));
      const wanted = await tagOf("source/app", "v1.2.0");
      assert.ok(wanted);
      const result = await cli.run(["cp", `${registry.host}/source/app:v1.2.0`, `${registry.host}/team/app`]);
      refused(result, "v1.2.0", digestA, wanted);
      assert.equal(await tagOf("team/app", "v1.2.0"), digestA);
      assert.equal(
        await hasBlob("team/app", sha256("release C, never pushed by a refused command\n")),
        false,
      );
      assert.equal(
        await tagOf("team/app", wanted),
        undefined,
        "the manifest was not copied by digest either",
      );

      // The same digest again is fine; --force moves it; another tag name is not guarded.
      ok(await cli.run(["cp", `${registry.host}/team/app:v1.2.0`, `${registry.host}/mirror/app:v1.2.0`]));
      ok(await cli.run(["cp", `${registry.host}/team/app:v1.2.0`, `${registry.host}/mirror/app:v1.2.0`]));
      ok(await cli.run(["cp", `${registry.host}/source/app:v1.2.0`, `${registry.host}/mirror/app:latest`]));
      ok(
        await cli.run(["cp", `${registry.host}/source/app:v1.2.0`, `${registry.host}/mirror/app`, "--force"]),
      );
      assert.equal(await tagOf("mirror/app", "v1.2.0"), wanted);
    });

    test("--json: the refusal is an ImmutableTagError with exit code 8", async () => {
      const result = await cli.run(["push", `${registry.host}/team/app:v1.2.0`, fileB, "--json"]);
      assert.equal(result.code, 8);
      const body = JSON.parse(result.stdout) as {
        error: { kind: string; exitCode: number; message: string };
      };
      assert.equal(body.error.kind, "ImmutableTagError");
      assert.equal(body.error.exitCode, 8);
      assert.match(body.error.message, /already points at/);
    });
  });
}

describe("version tags in an OCI layout are not moved without --force", () => {
  let cli: CliHome;
  let dir: string;

  before(async () => {
    cli = await cliHome();
    dir = await mkdtemp(join(cli.dir, "layout-"));
    await writeFile(join(cli.dir, "a.txt"), "layout A\n");
    await writeFile(join(cli.dir, "b.txt"), "layout B\n");
  });
  after(() => cli.cleanup());

  test("push and cp into oci:DIR:v1.0.0", async () => {
    const a = ok(await cli.run(["push", `oci:${dir}:v1.0.0`, join(cli.dir, "a.txt")])).stdout.trim();
    const b = ok(await cli.run(["push", `oci:${dir}:next`, join(cli.dir, "b.txt")])).stdout.trim();
    refused(await cli.run(["push", `oci:${dir}:v1.0.0`, join(cli.dir, "b.txt")]), "v1.0.0", a, b);
    refused(await cli.run(["cp", `oci:${dir}:next`, `oci:${dir}:v1.0.0`]), "v1.0.0", a, b);
    refused(await cli.run(["tag", `oci:${dir}:next`, "v1.0.0"]), "v1.0.0", a, b);
    const layout = new LayoutTarget(dir);
    assert.equal((await layout.resolve("v1.0.0")).digest, a);
    ok(await cli.run(["push", `oci:${dir}:v1.0.0`, join(cli.dir, "a.txt")]));
    ok(await cli.run(["cp", `oci:${dir}:next`, `oci:${dir}:v1.0.0`, "--force"]));
    assert.equal((await layout.resolve("v1.0.0")).digest, b);
  });
});
