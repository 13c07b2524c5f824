import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { apiOk, type ArtifactDetail } from "../discovery/support.js";
import { startDistribution } from "./distribution.js";
import { cliHome, type CliHome, type CliResult } from "./cli.js";

const SPDX = "application/spdx+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

interface Registry {
  url: string;
  host: string;
  stop(): Promise<void>;
}

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result;
}

async function getManifest(url: string, repo: string, reference: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, { headers: { Accept: OCI_MANIFEST } });
  assert.equal(res.status, 200, `GET ${repo}/manifests/${reference}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

const registries: { name: string; referrersApi: boolean; start(): Promise<Registry> }[] = [
  {
    name: "wharf serve",
    referrersApi: true,
    start: async () => {
      const s: TestServer = await startWharf();
      return { url: s.url, host: s.host, stop: () => s.stop() };
    },
  },
  {
    name: "Distribution 2.8 (docker-registry)",
    referrersApi: false,
    start: async () => {
      const d = await startDistribution();
      return { url: `http://${d.host}`, host: d.host, stop: () => d.stop() };
    },
  },
];

for (const kind of registries) {
  describe(`push --subject on ${kind.name}`, () => {
    let registry: Registry;
    let cli: CliHome;
    let sbom: string;
    let app: string;
    let appDigest: string;
    let appSize: number;

    before(async () => {
      registry = await kind.start();
      cli = await cliHome();
      const files = join(cli.dir, "files");
      await mkdir(files, { recursive: true });
      app = join(files, "app.txt");
      sbom = join(files, "sbom.json");
      await writeFile(app, "the app\n");
      await writeFile(sbom, JSON.stringify({ spdxVersion: "SPDX-2.3", name: "app" }));
      appDigest = ok(await cli.run(["push", `${registry.host}/team/app:v1`, app])).stdout.trim();
      const res = await fetch(`${registry.url}/v2/team/app/manifests/${appDigest}`, {
        headers: { Accept: OCI_MANIFEST },
      });
      appSize = (await res.arrayBuffer()).byteLength;
    });
    after(async () => {
      await cli.cleanup();
      await registry.stop();
    });

    test("with no tag: pushed by digest only, the manifest names its subject, no tag is made", async () => {
      const pushed = ok(
        await cli.run([
          "push",
          `${registry.host}/team/app`,
          `${sbom}:${SPDX}`,
          "--artifact-type",
          SPDX,
          "--subject",
          ":v1",
        ]),
      );
      const digest = pushed.stdout.trim();
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);
      const manifest = await getManifest(registry.url, "team/app", digest);
      assert.deepEqual(manifest.subject, { mediaType: OCI_MANIFEST, digest: appDigest, size: appSize });
      assert.equal(manifest.artifactType, SPDX);
      // No default `latest` tag: a referrer is found through its subject.
      const latest = await fetch(`${registry.url}/v2/team/app/manifests/latest`, {
        method: "HEAD",
        headers: { Accept: OCI_MANIFEST },
      });
      assert.equal(latest.status, 404);
      const tags = (await (await fetch(`${registry.url}/v2/team/app/tags/list`)).json()) as {
        tags: string[];
      };
      assert.deepEqual(
        tags.tags.filter((t) => !t.startsWith("sha256-")),
        ["v1"],
      );

      if (kind.referrersApi) {
        const referrers = await fetch(`${registry.url}/v2/team/app/referrers/${appDigest}`);
        assert.equal(referrers.status, 200);
        const index = (await referrers.json()) as { manifests: { digest: string; artifactType?: string }[] };
        assert.deepEqual(
          index.manifests.map((m) => [m.digest, m.artifactType]),
          [[digest, SPDX]],
        );
        const detail = (await apiOk<ArtifactDetail>(registry.url, "/api/v1/artifacts/team/app:v1")).body;
        assert.deepEqual(
          Object.values(detail.accessories)
            .flat()
            .map((a) => a.digest),
          [digest],
        );
        assert.equal(detail.accessories["spdx-sbom"]?.[0]?.digest, digest);
      }
    });

    test("a full digest reference and an explicit tag: tagged as well", async () => {
      const pushed = ok(
        await cli.run([
          "push",
          `${registry.host}/team/app:v1-notes`,
          app,
          "--subject",
          `${registry.host}/team/app@${appDigest}`,
        ]),
      );
      const digest = pushed.stdout.trim();
      const byTag = await getManifest(registry.url, "team/app", "v1-notes");
      assert.deepEqual(byTag.subject, { mediaType: OCI_MANIFEST, digest: appDigest, size: appSize });
      const res = await fetch(`${registry.url}/v2/team/app/manifests/v1-notes`, {
        method: "HEAD",
        headers: { Accept: OCI_MANIFEST },
      });
      assert.equal(res.headers.get("docker-content-digest"), digest);
    });

    test("bad subjects are refused before anything is pushed", async () => {
      const missing = await cli.run(["push", `${registry.host}/team/app`, app, "--subject", ":nope"]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /nope/);
      const other = await cli.run([
        "push",
        `${registry.host}/team/app`,
        app,
        "--subject",
        "example.com/team/app:v1",
      ]);
      assert.equal(other.code, 2, other.stderr);
      assert.match(other.stderr, /--subject .* must be in the push's registry/);
      const layout = await cli.run(["push", `oci:${join(cli.dir, "layout")}`, app, "--subject", ":v1"]);
      assert.equal(layout.code, 2, layout.stderr);
      assert.match(layout.stderr, /--subject needs a registry push target/);
    });
  });
}
