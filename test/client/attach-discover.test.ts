import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, RegistryTarget } from "../../src/client/index.js";
import { discoverReferrers, type DiscoveredNode } from "../../src/client/discover.js";
import { cliHome, type CliHome } from "./cli.js";
import { ok, registries, type Registry } from "./registries.js";

const SPDX = "application/spdx+json";
const SIG = "application/vnd.example.signature.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const EMPTY = "application/vnd.oci.empty.v1+json";

interface Manifest {
  artifactType?: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; annotations?: Record<string, string> }[];
  subject?: { mediaType: string; digest: string; size: number };
  annotations?: Record<string, string>;
}

/** The tree lines `oras discover` would print for this JSON tree (its tree printer, re-derived). */
function orasTree(root: DiscoveredNode): string[] {
  const lines: string[] = [root.reference];
  const walk = (n: DiscoveredNode, prefix: string) => {
    const groups = new Map<string, DiscoveredNode[]>();
    for (const c of n.manifests) {
      const label = c.legacy ? `<${c.legacy} tag ${c.tag}>` : (c.artifactType ?? "<unknown>");
      groups.set(label, [...(groups.get(label) ?? []), c]);
    }
    [...groups].forEach(([label, members], gi) => {
      const lastGroup = gi === groups.size - 1;
      lines.push(`${prefix}${lastGroup ? "└── " : "├── "}${label}`);
      const inner = prefix + (lastGroup ? "    " : "│   ");
      members.forEach((m, mi) => {
        const lastMember = mi === members.length - 1;
        lines.push(`${inner}${lastMember ? "└── " : "├── "}${m.digest}`);
        walk(m, inner + (lastMember ? "    " : "│   "));
      });
    });
  };
  walk(root, "");
  return lines;
}

for (const kind of registries) {
  describe(`attach and discover on ${kind.name}`, () => {
    let registry: Registry;
    let cli: CliHome;
    let files: string;
    let app: string;
    let sbom: string;
    let sbom2: string;
    let sig: string;

    const manifest = async (repo: string, digest: string): Promise<Manifest> => {
      const res = await fetch(`http://${registry.host}/v2/${repo}/manifests/${digest}`, {
        headers: { accept: OCI_MANIFEST },
      });
      assert.equal(res.status, 200, `GET ${repo}@${digest}: ${res.status}`);
      return (await res.json()) as Manifest;
    };

    before(async () => {
      registry = await kind.start();
      cli = await cliHome();
      files = join(cli.dir, "files");
      await mkdir(files, { recursive: true });
      await writeFile(join(files, "app.txt"), "the app\n");
      await writeFile(join(files, "sbom.spdx.json"), JSON.stringify({ spdxVersion: "SPDX-2.3" }));
      await writeFile(join(files, "licenses.txt"), "MIT\n");
      await writeFile(join(files, "sig.json"), JSON.stringify({ signed: true }));
      await writeFile(join(files, "payload.json"), JSON.stringify({ critical: {} }));
      await writeFile(join(files, "config.json"), "{}");
      app = ok(await cli.run(["push", `${registry.host}/team/app:v1`, join(files, "app.txt")])).stdout.trim();
    });
    after(async () => {
      await cli.cleanup();
      await registry.stop();
    });

    test("attach without --artifact-type is refused with a clear message", async () => {
      const result = await cli.run(["attach", `${registry.host}/team/app:v1`, join(files, "sig.json")]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /attach needs --artifact-type/);
    });

    test("attach: files as titled layers of an artifactType manifest with the empty config and REF as subject", async () => {
      const before = Date.now();
      sbom = ok(
        await cli.run([
          "attach",
          `${registry.host}/team/app:v1`,
          `${join(files, "sbom.spdx.json")}:${SPDX}`,
          join(files, "licenses.txt"),
          "--artifact-type",
          SPDX,
          "-a",
          "tool=syft",
        ]),
      ).stdout.trim();
      assert.match(sbom, /^sha256:[0-9a-f]{64}$/);
      const m = await manifest("team/app", sbom);
      assert.equal(m.artifactType, SPDX);
      assert.equal(m.config.mediaType, EMPTY);
      assert.equal(m.config.size, 2);
      assert.deepEqual(
        m.layers.map((l) => [l.mediaType, l.annotations?.["org.opencontainers.image.title"]]),
        [
          [SPDX, "sbom.spdx.json"],
          ["application/vnd.oci.image.layer.v1.tar", "licenses.txt"],
        ],
      );
      assert.equal(m.subject?.digest, app);
      assert.equal(m.subject?.mediaType, OCI_MANIFEST);
      const created = m.annotations?.["org.opencontainers.image.created"] ?? "";
      assert.match(created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "RFC 3339 in seconds, as oras-go writes it");
      assert.ok(Date.parse(created) >= Math.floor(before / 1000) * 1000);
      assert.equal(m.annotations?.tool, "syft");
      // Pushed by digest: no tag was made for it.
      const tags = (await (await fetch(`http://${registry.host}/v2/team/app/tags/list`)).json()) as {
        tags: string[];
      };
      assert.ok(!tags.tags.some((t) => t !== "v1" && !t.startsWith("sha256-")), tags.tags.join(","));
    });

    test("attach to a referrer by digest, a second SBOM, and a cosign legacy .sig tag", async () => {
      sig = ok(
        await cli.run([
          "attach",
          `${registry.host}/team/app@${sbom}`,
          join(files, "sig.json"),
          "--artifact-type",
          SIG,
        ]),
      ).stdout.trim();
      assert.equal((await manifest("team/app", sig)).subject?.digest, sbom);
      sbom2 = ok(
        await cli.run([
          "attach",
          `${registry.host}/team/app:v1`,
          `${join(files, "sbom.spdx.json")}:${SPDX}`,
          "--artifact-type",
          SPDX,
          "-a",
          "tool=trivy",
        ]),
      ).stdout.trim();
      assert.notEqual(sbom2, sbom);
      // cosign ≤ v2 stores signatures under sha256-<hex>.sig, with no subject.
      ok(
        await cli.run([
          "push",
          `${registry.host}/team/app:${app.replace(":", "-")}.sig`,
          `${join(files, "payload.json")}:application/vnd.dev.cosign.simplesigning.v1+json`,
          "--config",
          `${join(files, "config.json")}:application/vnd.oci.image.config.v1+json`,
        ]),
      );
    });

    test("discover prints the whole tree like oras discover, cosign's legacy tag marked", async () => {
      const json = JSON.parse(
        ok(await cli.run(["discover", `${registry.host}/team/app:v1`, "--json"])).stdout,
      ) as DiscoveredNode;
      assert.equal(json.reference, `${registry.host}/team/app@${app}`);
      assert.equal(json.digest, app);
      assert.equal(json.mediaType, OCI_MANIFEST);
      assert.equal(typeof json.size, "number");
      const byDigest = new Map(json.manifests.map((m) => [m.digest, m]));
      assert.deepEqual(new Set(byDigest.keys()).size, 3);
      const first = byDigest.get(sbom);
      assert.equal(first?.artifactType, SPDX);
      assert.equal(first?.reference, `${registry.host}/team/app@${sbom}`);
      assert.equal(first?.annotations?.tool, "syft");
      assert.deepEqual(
        first?.manifests.map((m) => [m.digest, m.artifactType, m.manifests.length]),
        [[sig, SIG, 0]],
      );
      assert.equal(byDigest.get(sbom2)?.artifactType, SPDX);
      const legacy = json.manifests.find((m) => m.legacy);
      assert.equal(legacy?.legacy, "cosign-signature");
      assert.equal(legacy?.tag, `${app.replace(":", "-")}.sig`);

      const text = ok(await cli.run(["discover", `${registry.host}/team/app:v1`])).stdout;
      assert.deepEqual(text.trimEnd().split("\n"), orasTree(json));
      // The shape, spelled out: the two SBOMs share one artifactType branch.
      const lines = text.trimEnd().split("\n");
      assert.equal(lines[0], `${registry.host}/team/app@${app}`);
      assert.equal(lines.filter((l) => l.endsWith(SPDX)).length, 1);
      assert.ok(lines.some((l) => /^│ {3}[├└]── sha256:/.test(l)));
      assert.ok(lines.some((l) => l.includes(`<cosign-signature tag ${app.replace(":", "-")}.sig>`)));
      const sigLine = lines.find((l) => l.endsWith(`── ${sig}`)) ?? "";
      assert.match(sigLine, /^│ {3}[│ ] {7}└── /, "the SBOM's signature is nested under the SBOM");
    });

    test("--artifact-type filters the first level; --depth bounds the levels", async () => {
      const filtered = JSON.parse(
        ok(await cli.run(["discover", `${registry.host}/team/app:v1`, "--json", "--artifact-type", SPDX]))
          .stdout,
      ) as DiscoveredNode;
      assert.deepEqual(new Set(filtered.manifests.map((m) => m.digest)), new Set([sbom, sbom2]));
      const nested = filtered.manifests.find((m) => m.digest === sbom);
      assert.deepEqual(
        nested?.manifests.map((m) => m.digest),
        [sig],
        "deeper levels are not filtered",
      );
      const shallow = JSON.parse(
        ok(await cli.run(["discover", `${registry.host}/team/app:v1`, "--json", "--depth", "1"])).stdout,
      ) as DiscoveredNode;
      assert.equal(shallow.manifests.length, 3);
      assert.ok(shallow.manifests.every((m) => m.manifests.length === 0));
      const bad = await cli.run(["discover", `${registry.host}/team/app:v1`, "--depth", "0"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--depth must be a whole number from 1 to 64/);
    });

    test("the node bound cuts the walk and says so", async () => {
      const client = new Client({ env: { HOME: tmpdir() } });
      try {
        const target = new RegistryTarget(client, { registry: registry.host, repository: "team/app" });
        const root = await target.resolve("v1");
        const cut = await discoverReferrers(target, root, `${registry.host}/team/app`, { maxNodes: 2 });
        assert.equal(cut.truncated, true);
        assert.equal(cut.count, 2);
        const whole = await discoverReferrers(target, root, `${registry.host}/team/app`);
        assert.equal(whole.truncated, false);
        assert.equal(whole.count, 4);
      } finally {
        client.close();
      }
    });
  });
}

describe("attach and discover in an OCI layout", () => {
  let cli: CliHome;
  before(async () => {
    cli = await cliHome();
  });
  after(async () => {
    await cli.cleanup();
  });

  test("the referrer lands in index.json and discover finds it", async () => {
    const file = join(cli.dir, "app.txt");
    await writeFile(file, "app\n");
    await writeFile(join(cli.dir, "sbom.json"), "{}");
    const layout = join(cli.dir, "layout");
    const app = ok(await cli.run(["push", `oci:${layout}:v1`, file])).stdout.trim();
    const sbom = ok(
      await cli.run(["attach", `oci:${layout}:v1`, join(cli.dir, "sbom.json"), "--artifact-type", SPDX]),
    ).stdout.trim();
    const text = ok(await cli.run(["discover", `oci:${layout}:v1`])).stdout;
    assert.deepEqual(text.trimEnd().split("\n"), [`oci:${layout}@${app}`, `└── ${SPDX}`, `    └── ${sbom}`]);
  });
});
