import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome } from "./cli.js";
import { rawTar } from "./tar-fixtures.js";
import { findReferences } from "../../src/client/refs-file.js";

describe("finding OCI references in YAML and JSON", () => {
  test("Flux, Helm dependencies, Helm values, plain image strings and oci:// URLs", () => {
    const yaml = `
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
spec:
  url: oci://ghcr.io/org/manifests
  ref:
    tag: v1.2.0
---
apiVersion: v2
name: umbrella
dependencies:
  - name: redis
    version: "^18.0.0"
    repository: oci://registry.example.com/charts
  - name: local
    version: 1.0.0
    repository: file://../local
---
image:
  registry: registry.example.com
  repository: team/api
  tag: "2.1"
sidecar:
  image: registry.example.com/team/sidecar@sha256:${"a".repeat(64)}
templated:
  image: "{{ .Values.image }}"
extra:
  - oci://registry.example.com/bundles/base:3
  - https://example.com/not-oci
  - github.com/org/project
  - docs/guide.md
pinned:
  digest: host:5000/x/y@sha256:${"b".repeat(64)}
  tagged: [localhost:5000/team/tool:1.2]
`;
    assert.deepEqual(findReferences(yaml, "x.yaml"), [
      { reference: "ghcr.io/org/manifests:v1.2.0", path: "[0].spec.url" },
      {
        reference: "registry.example.com/charts/redis",
        range: "^18.0.0",
        helm: true,
        path: "[1].dependencies[0].repository",
      },
      { reference: "registry.example.com/team/api:2.1", path: "[2].image" },
      { reference: `registry.example.com/team/sidecar@sha256:${"a".repeat(64)}`, path: "[2].sidecar.image" },
      { reference: "registry.example.com/bundles/base:3", path: "[2].extra[0]" },
      { reference: `host:5000/x/y@sha256:${"b".repeat(64)}`, path: "[2].pinned.digest" },
      { reference: "localhost:5000/team/tool:1.2", path: "[2].pinned.tagged[0]" },
    ]);
    const json = JSON.stringify({
      artifacts: [
        { image: "localhost:5000/a:v1" },
        { url: "oci://localhost:5000/b", ref: { semver: ">=1" } },
      ],
    });
    assert.deepEqual(findReferences(json, "x.json"), [
      { reference: "localhost:5000/a:v1", path: "artifacts[0].image" },
      { reference: "localhost:5000/b", range: ">=1", path: "artifacts[1].url" },
    ]);
    assert.throws(() => findReferences("a: [unclosed", "bad.yaml"), /not valid YAML/);
  });
});

describe("wharf pull -f", () => {
  let server: TestServer;
  let cli: CliHome;
  before(async () => {
    server = await startWharf();
    cli = await cliHome();
    for (const version of ["0.1.0", "0.2.0", "1.0.0"]) {
      const chart = join(cli.dir, `mychart-${version}.tgz`);
      await writeFile(
        chart,
        rawTar([
          { name: "mychart/Chart.yaml", data: `apiVersion: v2\nname: mychart\nversion: ${version}\n` },
        ]),
      );
      const pushed = await cli.run(["push", `${server.host}/charts/mychart`, chart]);
      assert.equal(pushed.code, 0, pushed.stderr);
    }
    await writeFile(join(cli.dir, "bundle.yaml"), "kind: Bundle\n");
    const bundle = await cli.run(["push", `${server.host}/team/bundle:v1`, join(cli.dir, "bundle.yaml")]);
    assert.equal(bundle.code, 0, bundle.stderr);
  });
  after(async () => {
    await server.stop();
    await cli.cleanup();
  });

  test("the same repository on two registries goes to two directories; plain references count", async () => {
    const other = await startWharf();
    try {
      await writeFile(join(cli.dir, "bundle.yaml"), "kind: Other\n");
      const pushed = await cli.run(["push", `${other.host}/team/bundle:v1`, join(cli.dir, "bundle.yaml")]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const digest = pushed.stdout.trim();
      const file = join(cli.dir, "two.yaml");
      await writeFile(
        file,
        [
          `first: oci://${server.host}/team/bundle:v1`,
          `second:`,
          `  pinned: ${other.host}/team/bundle@${digest}`,
        ].join("\n"),
      );
      const out = join(cli.dir, "two");
      const result = await cli.run(["pull", "-f", file, "-o", out]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /2 of 2 reference\(s\)/);
      assert.equal(
        await readFile(join(out, server.host, "team", "bundle", "v1", "bundle.yaml"), "utf8"),
        "kind: Bundle\n",
      );
      assert.equal(
        await readFile(
          join(out, other.host, "team", "bundle", digest.replace(":", "-"), "bundle.yaml"),
          "utf8",
        ),
        "kind: Other\n",
      );
    } finally {
      await other.stop();
    }
  });

  test("a registry host of `..` (or any host outside the host[:port] grammar) is refused, not joined into the path", async () => {
    const file = join(cli.dir, "dots.yaml");
    await writeFile(file, "first: oci://../team/bundle:v1\nsecond: oci://a..b/team/bundle:v1\n");
    const out = join(cli.dir, "dots", "out");
    const result = await cli.run(["pull", "-f", file, "-o", out]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /invalid registry host "\.\."/);
    assert.match(result.stderr, /invalid registry host "a\.\.b"/);
    await assert.rejects(readdir(join(cli.dir, "dots")), { code: "ENOENT" }, "nothing is written");

    const direct = await cli.run(["pull", "../team/bundle:v1", "-o", join(cli.dir, "dots-direct")]);
    assert.equal(direct.code, 2, direct.stderr);
    assert.match(direct.stderr, /invalid registry host/);
  });

  test("a file without references is an error", async () => {
    const file = join(cli.dir, "none.yaml");
    await writeFile(file, "replicas: 2\nhome: github.com/org/project\n");
    const result = await cli.run(["pull", "-f", file, "-o", join(cli.dir, "none")]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /declares no OCI references/);
  });

  test("pulls every reference, resolving version ranges; goes on after a failure; works offline", async () => {
    const file = join(cli.dir, "deploy.yaml");
    await writeFile(
      file,
      [
        "dependencies:",
        "  - name: mychart",
        '    version: "~0.1.0 || ^0.2.0"',
        `    repository: oci://${server.host}/charts`,
        "---",
        "kind: OCIRepository",
        "spec:",
        `  url: oci://${server.host}/team/bundle`,
        "  ref:",
        "    tag: v1",
        "---",
        `missing: oci://${server.host}/team/missing:v9`,
      ].join("\n"),
    );
    const out = join(cli.dir, "vendor");
    const first = await cli.run(["pull", "-f", file, "-o", out]);
    assert.equal(first.code, 3, first.stderr);
    assert.match(first.stderr, /team\/missing:v9 not found/);
    assert.match(first.stderr, /2 of 3 reference\(s\)/);
    const chart = await readFile(join(out, server.host, "charts", "mychart", "0.2.0", "mychart-0.2.0.tgz"));
    assert.deepEqual(chart, await readFile(join(cli.dir, "mychart-0.2.0.tgz")));
    assert.equal(
      await readFile(join(out, server.host, "team", "bundle", "v1", "bundle.yaml"), "utf8"),
      "kind: Bundle\n",
    );

    await server.stop();
    const offline = await cli.run(["pull", "-f", file, "-o", join(cli.dir, "offline"), "--json"]);
    const results = (
      JSON.parse(offline.stdout) as { results: { reference: string; offline?: boolean; error?: unknown }[] }
    ).results;
    assert.deepEqual(
      results.map((r) => [r.reference, r.offline ?? false, r.error !== undefined]),
      [
        [`${server.host}/charts/mychart:0.2.0`, true, false],
        [`${server.host}/team/bundle:v1`, true, false],
        [`${server.host}/team/missing:v9`, false, true],
      ],
    );
    assert.equal(offline.code, 7, "the reference never pulled cannot be had offline");
  });
});
