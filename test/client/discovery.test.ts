import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cliHome, type CliHome } from "./cli.js";
import { ok, registries, type Registry } from "./registries.js";
import { makeWorkspace, type Workspace } from "./workspace.js";
import type { DiscoveryResult } from "../../src/client/discovery/index.js";

for (const kind of registries) {
  describe(`wharf ls REGISTRY[/NAMESPACE] on ${kind.name}`, () => {
    let registry: Registry;
    let cli: CliHome;
    let ws: Workspace;
    let host: string;
    let chart: string;

    before(async () => {
      registry = await kind.start();
      host = registry.host;
      cli = await cliHome();
      ws = await makeWorkspace(cli.dir);
      chart = ok(await cli.run(["push", `${host}/team/mychart`, ws.chart, "--index"])).stdout.trim();
      ok(await cli.run(["push", `${host}/team/deploy:v1`, ws.manifests, "--index"]));
      // A namespace kept without an index, with one digest under two tags and a cosign signature tag.
      const notes = ok(await cli.run(["push", `${host}/other/notes:v1`, ws.notes])).stdout.trim();
      ok(await cli.run(["tag", `${host}/other/notes:v1`, "stable"]));
      const sig = join(cli.dir, "sig.json");
      await writeFile(sig, "{}");
      const sigTag = `${notes.replace(":", "-")}.sig`;
      ok(
        await cli.run([
          "push",
          `${host}/other/notes:${sigTag}`,
          `${sig}:application/vnd.dev.cosign.simplesigning.v1+json`,
        ]),
      );
      ok(await cli.run(["push", `${host}/other/chart`, ws.chart]));
    });
    after(async () => {
      await cli.cleanup();
      await registry.stop();
    });

    test("a namespace with an index is listed from it, with kind, title and version", async () => {
      const text = ok(await cli.run(["ls", `${host}/team`]));
      if (!kind.api) assert.match(text.stderr, new RegExp(`listed from ${host}/team/index:latest`));
      // PULLS once the registry counted a pull (Wharf's API, after a flush): this test's pulls may be in.
      assert.match(text.stdout, /^KIND\s+REFERENCE\s+TITLE\s+VERSION\s+SIZE\s+PUSHED(\s+PULLS)?$/m);
      assert.match(
        text.stdout,
        new RegExp(`^Helm chart\\s+${host}/team/mychart:0\\.1\\.0\\s+mychart\\s+0\\.1\\.0\\s`, "m"),
      );
      assert.match(text.stdout, new RegExp(`\\s${host}/team/deploy:v1\\s`));
      const json = JSON.parse(ok(await cli.run(["ls", `${host}/team`, "--json"])).stdout) as DiscoveryResult;
      assert.equal(json.source, kind.api ? "wharf-api" : "index");
      assert.equal(json.namespace, "team");
      const entry = json.artifacts.find((a) => a.repository === "team/mychart");
      assert.equal(entry?.digest, chart);
      assert.equal(entry?.kindTitle, "Helm chart");
    });

    test("a namespace without one falls back to the catalog and tags, and says so on stderr", async () => {
      const text = ok(await cli.run(["ls", `${host}/other`]));
      if (!kind.api)
        assert.match(
          text.stderr,
          new RegExp(
            `no index artifact at ${host}/other/index:latest: listed the catalog and every tag instead \\(slow`,
          ),
        );
      assert.match(
        text.stdout,
        new RegExp(`^generic artifact\\s+${host}/other/notes:stable\\s.*\\n  tags: stable, v1$`, "m"),
      );
      assert.match(text.stdout, new RegExp(`^Helm chart\\s+${host}/other/chart:0\\.1\\.0\\s`, "m"));
      assert.doesNotMatch(text.stdout, /\.sig/);
      assert.doesNotMatch(text.stdout, /\/team\//);
      const json = JSON.parse(ok(await cli.run(["ls", `${host}/other`, "--json"])).stdout) as DiscoveryResult;
      assert.equal(json.source, kind.api ? "wharf-api" : "catalog");
      assert.deepEqual(json.artifacts.map((a) => a.repository).sort(), ["other/chart", "other/notes"]);
    });

    test("the whole registry without a top-level index goes through the catalog too", async () => {
      const json = JSON.parse(ok(await cli.run(["ls", host, "--json"])).stdout) as DiscoveryResult;
      assert.equal(json.source, kind.api ? "wharf-api" : "catalog");
      for (const repo of ["team/mychart", "team/deploy", "other/notes", "other/chart", "team/index"])
        assert.ok(
          json.artifacts.some((a) => a.repository === repo),
          repo,
        );
      assert.equal(json.artifacts.find((a) => a.repository === "team/index")?.kind, "wharf-index");
    });

    test("a repository still lists its tags; a name that is neither is not found (exit 3)", async () => {
      const tags = ok(await cli.run(["ls", `${host}/team/deploy`]));
      assert.match(tags.stdout, /^v1\s+sha256:/m);
      const missing = await cli.run(["ls", `${host}/nothing/here`]);
      assert.equal(missing.code, 3, missing.stderr);
      assert.match(missing.stderr, /is neither a repository nor a namespace with artifacts/);
    });
  });
}
