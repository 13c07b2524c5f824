import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { startWharf, type TestServer } from "../helpers/server.js";
import { helm, packageChart, sha256, type Result } from "./support.js";

interface Manifest {
  mediaType?: string;
  config: { mediaType: string; digest: string };
  layers: { mediaType: string; digest: string; size: number }[];
}

describe("helm against wharf serve", { timeout: 600_000 }, () => {
  let wharf: TestServer;
  let dir: string;
  let run: (args: string[]) => Promise<Result>;
  let chart: string;
  let chartBytes: Buffer;
  let pushedDigest: string;
  const name = "wharf-demo";
  const version = "0.3.1";
  const ref = () => `oci://${wharf.host}/charts/${name}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-helm-"));
    wharf = await startWharf();
    run = helm(join(dir, "helm"));
    chart = await packageChart(run, dir, name, version);
    chartBytes = await readFile(chart);
  });
  after(async () => {
    await wharf?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("helm push uploads the chart over plain HTTP to 127.0.0.1 and prints its digest", async () => {
    const pushed = await run(["push", chart, `oci://${wharf.host}/charts`]);
    const output = pushed.stdout + pushed.stderr;
    assert.match(output, new RegExp(`Pushed: ${wharf.host}/charts/${name}:${version}`));
    const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
    assert.ok(digest, output);
    pushedDigest = digest;

    // The registry holds it under the version tag, with Helm's media types and the .tgz as the layer.
    const res = await fetch(`${wharf.url}/v2/charts/${name}/manifests/${version}`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), pushedDigest);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(sha256(bytes), pushedDigest);
    const manifest = JSON.parse(bytes.toString("utf8")) as Manifest;
    assert.equal(manifest.config.mediaType, "application/vnd.cncf.helm.config.v1+json");
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0]?.mediaType, "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    assert.equal(manifest.layers[0]?.digest, sha256(chartBytes));
    assert.equal(manifest.layers[0]?.size, chartBytes.length);

    const tags = (await (await fetch(`${wharf.url}/v2/charts/${name}/tags/list`)).json()) as {
      tags: string[];
    };
    assert.deepEqual(tags.tags, [version]);
  });

  test("helm pull --version gives a byte-identical .tgz", async () => {
    const out = join(dir, "pulled");
    await mkdir(out);
    const pulled = await run(["pull", ref(), "--version", version, "--destination", out]);
    assert.match(pulled.stdout + pulled.stderr, new RegExp(`Digest: ${pushedDigest}`));
    const bytes = await readFile(join(out, `${name}-${version}.tgz`));
    assert.ok(bytes.equals(chartBytes), "pulled chart differs from the pushed one");
  });

  test("helm template renders the chart straight from the registry", async () => {
    const rendered = await run([
      "template",
      "demo",
      ref(),
      "--version",
      version,
      "--set",
      "greeting=rendered from oci",
    ]);
    // Helm 3.10 prints "Pulled: …" and "Digest: …" on stdout before the manifests.
    const start = rendered.stdout.indexOf("---\n");
    assert.ok(start >= 0, rendered.stdout);
    const docs = parseAllDocuments(rendered.stdout.slice(start)).map((d) => d.toJS() as unknown);
    assert.equal(docs.length, 1, rendered.stdout);
    assert.match(rendered.stdout, new RegExp(`# Source: ${name}/templates/configmap.yaml`));
    const doc = docs[0] as {
      kind: string;
      metadata: { name: string };
      data: Record<string, string>;
    };
    assert.equal(doc.kind, "ConfigMap");
    assert.equal(doc.metadata.name, `demo-${name}`);
    assert.deepEqual(doc.data, { greeting: "rendered from oci", version });
  });

  test("helm show chart reads Chart.yaml from the registry", async () => {
    const shown = await run(["show", "chart", ref(), "--version", version]);
    const meta = parseYaml(shown.stdout) as Record<string, unknown>;
    assert.equal(meta.name, name);
    assert.equal(meta.version, version);
    assert.equal(meta.appVersion, "1.2.3");
    assert.equal(meta.description, "Wharf interop chart");
  });

  test("a version that was never pushed fails with not found", async () => {
    const missing = await helm(join(dir, "helm"))(["pull", ref(), "--version", "9.9.9"], {
      allowFailure: true,
    });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/i);
  });
});
