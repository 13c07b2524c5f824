import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { cliHome, type CliHome } from "./cli.js";
import { ok } from "./registries.js";
import { OCI_MANIFEST, writeKeyPair, type KeyFiles } from "./signing-support.js";

interface Manifest {
  layers: { digest: string; annotations?: Record<string, string> }[];
}

const SIGNATURE = "dev.cosignproject.cosign/signature";

describe("cp --referrers merges cosign's .sig tag into the destination's instead of replacing it", () => {
  let wharf: TestServer;
  let dist: Distribution;
  let cli: CliHome;
  let alice: KeyFiles;
  let bob: KeyFiles;
  let carol: KeyFiles;
  let file: string;

  before(async () => {
    [wharf, dist] = await Promise.all([startWharf(), startDistribution()]);
    cli = await cliHome();
    const files = join(cli.dir, "files");
    await mkdir(files, { recursive: true });
    alice = await writeKeyPair(files, "alice");
    bob = await writeKeyPair(files, "bob");
    carol = await writeKeyPair(files, "carol");
    file = join(files, "app.yaml");
    await writeFile(file, "kind: ConfigMap\n");
  });
  after(async () => {
    await cli.cleanup();
    await Promise.all([wharf.stop(), dist.stop()]);
  });

  const sig = (digest: string) => `${digest.replace(":", "-")}.sig`;
  const sigManifest = async (host: string, repo: string, digest: string) => {
    const res = await fetch(`http://${host}/v2/${repo}/manifests/${sig(digest)}`, {
      headers: { Accept: OCI_MANIFEST },
    });
    assert.equal(res.status, 200, `${host}/${repo}:${sig(digest)}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      digest: res.headers.get("docker-content-digest"),
      doc: JSON.parse(bytes.toString()) as Manifest,
    };
  };
  const signers = async (ref: string, keys: KeyFiles[]) => {
    const args = keys.flatMap((k) => ["--key", k.pub]);
    const report = JSON.parse(ok(await cli.run(["verify", ref, ...args, "--json"])).stdout) as {
      signatures: { format: string; signers: string[] }[];
    };
    return report.signatures.filter((s) => s.format === "cosign-legacy").map((s) => s.signers.join(","));
  };

  for (const [name, destination] of [
    ["Distribution 2.8", () => ({ host: dist.host, repo: "mirror/app" })],
    ["the same Wharf, another repository", () => ({ host: wharf.host, repo: "prod/app" })],
  ] as const) {
    test(`to ${name}`, async () => {
      const { host, repo } = destination();
      const sourceRepo = `team/${repo.replace("/", "-")}`;
      const from = `${wharf.host}/${sourceRepo}:v1`;
      const to = `${host}/${repo}:v1`;
      const digest = ok(await cli.run(["push", from, file])).stdout.trim();
      ok(await cli.run(["sign", from, "--key", alice.key, "--format", "legacy"]));

      // The destination has no .sig yet: the source's manifest goes over unchanged.
      ok(await cli.run(["cp", "--referrers", from, to]));
      const source1 = await sigManifest(wharf.host, sourceRepo, digest);
      assert.equal((await sigManifest(host, repo, digest)).digest, source1.digest);

      // Each side gains a signature the other lacks.
      ok(await cli.run(["sign", to, "--key", bob.key, "--format", "legacy"]));
      ok(await cli.run(["sign", from, "--key", carol.key, "--format", "legacy"]));
      const source2 = await sigManifest(wharf.host, sourceRepo, digest);
      const before = await sigManifest(host, repo, digest);
      assert.equal(before.doc.layers.length, 2);

      const copied = JSON.parse(ok(await cli.run(["cp", "--referrers", from, to, "--json"])).stdout) as {
        merged?: number;
      };
      const merged = await sigManifest(host, repo, digest);
      // The destination's layers first, then the source's it lacked: alice once, bob kept, carol added.
      assert.deepEqual(
        merged.doc.layers.map((l) => l.annotations?.[SIGNATURE]),
        [...before.doc.layers, source2.doc.layers[1]].map((l) => l?.annotations?.[SIGNATURE]),
      );
      assert.deepEqual(await signers(to, [alice, bob, carol]), ["alice.pub", "bob.pub", "carol.pub"]);
      assert.equal(copied.merged, 1);

      // Nothing new at the source: a second copy leaves the destination's .sig as it is.
      const again = JSON.parse(ok(await cli.run(["cp", "--referrers", from, to, "--json"])).stdout) as {
        merged?: number;
      };
      assert.equal(again.merged, undefined);
      assert.equal((await sigManifest(host, repo, digest)).digest, merged.digest);
      // The source's own .sig was never touched.
      assert.equal((await sigManifest(wharf.host, sourceRepo, digest)).digest, source2.digest);
    });
  }
});
