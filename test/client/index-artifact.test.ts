import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { skopeo } from "../interop/support.js";
import { cliHome, type CliHome } from "./cli.js";
import { ok, registries, type Registry } from "./registries.js";
import { makeWorkspace, type Workspace } from "./workspace.js";
import { Client } from "../../src/client/index.js";
import { readIndex, updateIndex, upsertChange } from "../../src/client/managed-index/index.js";
import { parseIndexDocument, type IndexDocument } from "../../src/oci/index-artifact/index.js";
import { WHARF_INDEX_MEDIA_TYPE } from "../../src/oci/kinds/index.js";

for (const kind of registries) {
  describe(`push --index keeps <namespace>/index:latest current on ${kind.name}`, () => {
    let registry: Registry;
    let cli: CliHome;
    let ws: Workspace;
    let host: string;
    const client = new Client();

    async function index(namespace: string): Promise<IndexDocument> {
      const read = await readIndex(client.registry(host), namespace);
      assert.ok(read, `${namespace}/index:latest exists`);
      return read.doc;
    }

    before(async () => {
      registry = await kind.start();
      host = registry.host;
      cli = await cliHome();
      ws = await makeWorkspace(cli.dir);
    });
    after(async () => {
      client.close();
      await cli.cleanup();
      await registry.stop();
    });

    test("a pushed chart is listed with its kind, title and version from the catalogue", async () => {
      const pushed = ok(await cli.run(["push", `${host}/team/mychart`, ws.chart, "--index"]));
      const digest = pushed.stdout.trim();
      assert.match(pushed.stderr, new RegExp(`Updated ${host}/team/index:latest \\(1 artifact\\(s\\)\\)`));
      const doc = await index("team");
      assert.equal(doc.namespace, "team");
      assert.equal(doc.entries.length, 1);
      const entry = doc.entries[0];
      assert.equal(entry?.repository, "team/mychart");
      assert.equal(entry?.digest, digest);
      assert.deepEqual(entry?.tags, ["0.1.0"]);
      assert.equal(entry?.kind, "helm-chart");
      assert.equal(entry?.title, "mychart");
      assert.equal(entry?.version, "0.1.0");
    });

    test("tag --index and rm --index keep it current; a top-level repository's index is index:latest", async () => {
      ok(await cli.run(["push", `${host}/team/deploy:v1`, ws.manifests, "--index"]));
      ok(await cli.run(["tag", `${host}/team/deploy:v1`, "stable", "--index"]));
      const deploy = (await index("team")).entries.find((e) => e.repository === "team/deploy");
      assert.deepEqual(deploy?.tags, ["stable", "v1"]);
      if (kind.name === "wharf serve") {
        ok(await cli.run(["rm", `${host}/team/deploy:stable`, "--index"]));
        const untagged = (await index("team")).entries.find((e) => e.repository === "team/deploy");
        assert.deepEqual(untagged?.tags, ["v1"]);
      }
      // Distribution cannot untag: delete by digest, which takes every tag (and the entry) with it.
      ok(await cli.run(["rm", `${host}/team/deploy@${deploy?.digest}`, "--index"]));
      assert.equal(
        (await index("team")).entries.find((e) => e.repository === "team/deploy"),
        undefined,
      );
      assert.ok((await index("team")).entries.some((e) => e.repository === "team/mychart"));

      ok(await cli.run(["push", `${host}/notes:v1`, ws.notes, "--index"]));
      const top = await index("");
      assert.deepEqual(
        top.entries.map((e) => [e.repository, e.tags]),
        [["notes", ["v1"]]],
      );
    });

    test("--index NAMESPACE lists the artifact in an ancestor's index; outside it is refused", async () => {
      ok(await cli.run(["push", `${host}/org/team/app:v1`, ws.notes, "--index", "org"]));
      assert.ok((await index("org")).entries.some((e) => e.repository === "org/team/app"));
      const outside = await cli.run(["push", `${host}/org/team/app:v2`, ws.notes, "--index", "other"]);
      assert.equal(outside.code, 2, outside.stderr);
      assert.match(outside.stderr, /org\/team\/app is not below other\//);
      const itself = await cli.run(["push", `${host}/team/index:v1`, ws.notes, "--index"]);
      assert.equal(itself.code, 2, itself.stderr);
      assert.match(itself.stderr, /team\/index is the index itself/);
    });

    test("index: true in the client config keeps the index without --index; --no-index skips it", async () => {
      const xdg = join(cli.dir, "xdg-index");
      await mkdir(join(xdg, "wharf"), { recursive: true });
      await writeFile(join(xdg, "wharf", "config.yaml"), "index: true\n");
      const env = { XDG_CONFIG_HOME: xdg };
      ok(await cli.run(["push", `${host}/setting/app:v1`, ws.notes], { env }));
      assert.deepEqual(
        (await index("setting")).entries.map((e) => e.tags),
        [["v1"]],
      );
      ok(await cli.run(["push", `${host}/setting/app:v2`, ws.manifests, "--no-index"], { env }));
      assert.deepEqual(
        (await index("setting")).entries.map((e) => e.tags),
        [["v1"]],
      );
      // Layouts have no index: the setting leaves them alone.
      ok(await cli.run(["push", `oci:${join(cli.dir, "layout")}:v1`, ws.notes], { env }));
    });

    test("something else at index:latest is neither overwritten nor read as an index", async () => {
      const other = ok(await cli.run(["push", `${host}/junk/index:latest`, ws.notes])).stdout.trim();
      const refused = await cli.run(["push", `${host}/junk/app:v1`, ws.notes, "--index"]);
      assert.equal(refused.code, 5, refused.stderr);
      assert.match(
        refused.stderr,
        new RegExp(
          `pushed ${host}/junk/app:v1 \\(sha256:[0-9a-f]{64}\\), but did not update ${host}/junk/index:latest: .*not a Wharf index`,
        ),
      );
      const still = await client.registry(host).resolve("junk/index", "latest");
      assert.equal(still.digest, other);
      const listed = ok(await cli.run(["ls", `${host}/junk`]));
      if (!kind.api) {
        assert.match(listed.stderr, /not a Wharf index/);
        assert.match(listed.stderr, /listed the catalog and every tag instead/);
      }
      assert.match(listed.stdout, new RegExp(`\\s${host}/junk/app:v1\\s`));
    });

    test("two CI jobs pushing 10 artifacts each at once: every entry is in the index at the end", async () => {
      const perJob = 10;
      const job = async (name: string) => {
        for (let i = 0; i < perJob; i++) {
          const file = join(cli.dir, `${name}-${i}.txt`);
          await writeFile(file, `${name} ${i}\n`);
          ok(await cli.run(["push", `${host}/ci/${name}:v${i}`, file, "--index"]));
        }
      };
      await Promise.all([job("a"), job("b")]);
      const doc = await index("ci");
      const listed = doc.entries.map((e) => `${e.repository}:${e.tags.join(",")}`).sort();
      const expected = ["a", "b"]
        .flatMap((n) => Array.from({ length: perJob }, (_, i) => `ci/${n}:v${i}`))
        .sort();
      assert.deepEqual(listed, expected);
    });

    test("20 writers updating one index at the same moment: none loses its entry", async () => {
      const registryClient = client.registry(host);
      const writers = Array.from({ length: 20 }, (_, i) => i);
      const digest = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;
      const retries: string[] = [];
      const results = await Promise.all(
        writers.map((i) =>
          updateIndex(
            registryClient,
            "race",
            upsertChange({
              repository: `race/app${i}`,
              digest: digest(i),
              tags: ["v1"],
              kind: "generic",
              title: null,
              version: null,
              description: null,
              updated: new Date().toISOString(),
            }),
            { baseDelayMs: 100, attempts: 20, onRetry: (m) => retries.push(m) },
          ),
        ),
      );
      assert.equal(results.length, 20);
      const doc = await index("race");
      assert.deepEqual(
        doc.entries.map((e) => e.repository).sort(),
        writers.map((i) => `race/app${i}`).sort(),
      );
      // The writers did race (else this test proves nothing): some found their entry dropped and merged again.
      assert.ok(retries.length > 0, "no writer ever lost a race");
    });

    test("skopeo reads it: inspect --raw shows Wharf's artifact type, copy to an OCI layout keeps the list", async () => {
      const run = await skopeo(join(cli.dir, "skopeo"));
      const raw = await run(["inspect", "--raw", "--tls-verify=false", `docker://${host}/team/index:latest`]);
      assert.equal(raw.code, 0, raw.stderr);
      const manifest = JSON.parse(raw.stdout) as {
        artifactType: string;
        layers: { mediaType: string; digest: string }[];
      };
      assert.equal(manifest.artifactType, WHARF_INDEX_MEDIA_TYPE);
      const layout = join(cli.dir, "index-layout");
      await mkdir(layout, { recursive: true });
      const copied = await run([
        "copy",
        "--src-tls-verify=false",
        `docker://${host}/team/index:latest`,
        `oci:${layout}:latest`,
      ]);
      assert.equal(copied.code, 0, copied.stderr);
      const layer = manifest.layers[0];
      assert.ok(layer);
      const bytes = await readFile(join(layout, "blobs", "sha256", layer.digest.slice("sha256:".length)));
      const doc = parseIndexDocument(bytes);
      assert.ok(doc.entries.some((e) => e.repository === "team/mychart" && e.kind === "helm-chart"));
    });
  });
}
