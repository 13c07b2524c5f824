import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { KIND_CASES } from "../unit/kinds-fixtures.js";
import { BUILTIN_KINDS } from "../../src/oci/kinds/index.js";
import { pushBlob, putManifest } from "../spec/manifest-support.js";
import {
  allPages,
  api,
  apiOk,
  getWithHost,
  pushImage,
  pushShaped,
  type ArtifactDetail,
  type ArtifactSummary,
  type RepositoryView,
} from "./support.js";

const SPDX = "application/spdx+json";

describe("discovery: kinds, facts, actions and accessories", { timeout: 300_000 }, () => {
  let wharf: TestServer;
  const pushed = new Map<string, { repo: string; digest: string; expect: string; tag: string | null }>();

  before(async () => {
    wharf = await startWharf();
    // One artifact per fixture, each shaped as its own tooling pushes it, in a repository of its own.
    let i = 0;
    for (const c of KIND_CASES) {
      // A manifest judged by its parent index's descriptor is covered by the index case.
      if (c.parentAnnotations) continue;
      i += 1;
      const repo = `kinds/k${i}-${c.expect}`;
      const tag = c.tag ?? "v1";
      const p = await pushShaped(wharf.url, repo, tag, c.manifest, c.config);
      pushed.set(c.name, { repo, digest: p.digest, expect: c.expect, tag });
    }
  });
  after(async () => {
    await wharf?.stop();
  });

  test("every shipped kind pushed with its published media types is detected through the API", async () => {
    assert.ok(pushed.size >= 40, `only ${pushed.size} cases`);
    const wrong: string[] = [];
    for (const [name, p] of pushed) {
      const { body } = await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${p.repo}@${p.digest}`);
      if (body.kind.id !== p.expect) wrong.push(`${name}: ${body.kind.id}, expected ${p.expect}`);
      assert.equal(body.digest, p.digest);
      assert.equal(body.kind.iconUrl, `/api/v1/kinds/${body.kind.id}/icon.svg`);
    }
    assert.deepEqual(wrong, []);
  });

  test("facts from config blobs: Helm chart, ModelPack and KitOps models, SBOM format, platforms", async () => {
    const detail = async (caseName: string) => {
      const p = [...pushed].find(([n]) => n.startsWith(caseName))?.[1];
      assert.ok(p, caseName);
      return (await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${p.repo}@${p.digest}`)).body;
    };
    const chart = await detail("Helm chart");
    assert.equal(chart.facts.chart?.name, "nginx");
    assert.ok(chart.facts.chart?.version, JSON.stringify(chart.facts.chart));
    const modelpack = await detail("CNCF ModelPack");
    assert.equal(modelpack.facts.model?.packaging, "modelpack");
    assert.equal(modelpack.facts.model?.name, "xyz-3-8B-Instruct");
    const kit = await detail("KitOps ModelKit");
    assert.equal(kit.facts.model?.packaging, "modelkit");
    assert.equal(kit.facts.model?.name, "qwen3-4b");
    const cyclone = await detail("CycloneDX SBOM");
    assert.equal(cyclone.facts.sbom?.format, "cyclonedx");
    const index = await detail("multi-platform index");
    // The BuildKit attestation is hidden from the platforms.
    assert.deepEqual(index.facts.platforms, ["linux/amd64", "linux/arm64/v8"]);
    const image = await detail("OCI image");
    assert.deepEqual(image.facts.platforms, ["linux/amd64"]);
    assert.equal(image.layers.length, 2);
  });

  test("a config that is not JSON, too large or of the wrong shape loses only its facts, never the push", async () => {
    const helmConfig = "application/vnd.cncf.helm.config.v1+json";
    const helmLayer = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
    const cases: [string, string][] = [
      ["bad/notjson", "{not json"],
      ["bad/toolarge", JSON.stringify({ name: "big", version: "1.0.0", pad: "x".repeat(300 * 1024) })],
      ["bad/shape", JSON.stringify([{ name: 1, version: { a: 1 } }])],
    ];
    for (const [repo, config] of cases) {
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: await pushBlob(wharf.url, repo, config, helmConfig),
        layers: [await pushBlob(wharf.url, repo, "chart bytes", helmLayer)],
        annotations: { "org.opencontainers.image.title": "still titled" },
      };
      const put = await putManifest(wharf.url, repo, "v1", manifest);
      assert.equal(put.status, 201, `${repo}: ${JSON.stringify(put.errors)}`);
      const detail = (await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${repo}:v1`)).body;
      assert.equal(detail.kind.id, "helm-chart", repo);
      assert.equal(detail.facts.title, "still titled", repo);
      assert.equal(detail.facts.chart, null, repo);
    }
  });

  test("actions are rendered with the registry host the caller used, by tag and by digest", async () => {
    const p = [...pushed.values()].find((v) => v.expect === "helm-chart")!;
    const byTag = (await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${p.repo}:v1`)).body;
    assert.ok(
      byTag.actions.some((a) => a.command === `helm pull oci://${wharf.host}/${p.repo} --version v1`),
      JSON.stringify(byTag.actions),
    );
    const byDigest = (await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${p.repo}@${p.digest}`)).body;
    assert.ok(
      byDigest.actions.some(
        (a) => a.command === `helm install my-release oci://${wharf.host}/${p.repo}@${p.digest}`,
      ),
      JSON.stringify(byDigest.actions),
    );
    // The action needing a tag is left out rather than rendered with a hole.
    assert.ok(byDigest.actions.every((a) => !a.command.includes("{") && !a.command.includes("--version")));
    // Another Host (as a proxy would pass it) is what the actions name.
    const other = await getWithHost<ArtifactDetail>(
      wharf.url,
      `/api/v1/artifacts/${p.repo}:v1`,
      "registry.example.com:8443",
    );
    assert.equal(other.status, 200);
    assert.ok(other.body.actions.every((a) => !a.command.includes(wharf.host)));
    assert.ok(other.body.actions.some((a) => a.command.includes("oci://registry.example.com:8443/")));
    // A Host that is not host[:port] is refused before anything is rendered.
    const bad = await getWithHost(wharf.url, `/api/v1/artifacts/${p.repo}:v1`, "evil.com/x?y");
    assert.equal(bad.status, 400);
  });

  test("a cosign .sig tag and a subject-referrer SBOM are listed under their image, not on their own", async () => {
    const repo = "acc/app";
    const image = await pushImage(wharf.url, repo, "1.0", { "org.opencontainers.image.title": "App" });
    const hex = image.digest.slice("sha256:".length);
    const sig = await pushShaped(wharf.url, repo, `sha256-${hex}.sig`, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 0 },
      layers: [
        {
          mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
          size: 250,
          annotations: { "dev.cosignproject.cosign/signature": "MEUCIQ..." },
        },
      ],
    });
    const sbom = await pushShaped(wharf.url, repo, null, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: SPDX,
      config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2 },
      layers: [{ mediaType: SPDX, size: 900 }],
      subject: { mediaType: image.mediaType, digest: image.digest, size: image.size },
    });

    const listing = (
      await apiOk<{ artifacts: ArtifactSummary[] }>(wharf.url, `/api/v1/repositories/${repo}/artifacts`)
    ).body;
    assert.deepEqual(
      listing.artifacts.map((a) => a.digest),
      [image.digest],
    );
    assert.deepEqual(listing.artifacts[0]?.accessories, {
      count: 2,
      kinds: { "cosign-signature": 1, "spdx-sbom": 1 },
    });
    const detail = (await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${repo}:1.0`)).body;
    assert.deepEqual(Object.keys(detail.accessories).sort(), ["cosign-signature", "spdx-sbom"]);
    assert.equal(detail.accessories["cosign-signature"]?.[0]?.digest, sig.digest);
    assert.deepEqual(detail.accessories["cosign-signature"]?.[0]?.tags, [`sha256-${hex}.sig`]);
    assert.equal(detail.accessories["spdx-sbom"]?.[0]?.digest, sbom.digest);
    // The accessory itself still answers by digest, with its kind.
    const sigDetail = (await apiOk<ArtifactDetail>(wharf.url, `/api/v1/artifacts/${repo}@${sig.digest}`))
      .body;
    assert.equal(sigDetail.kind.id, "cosign-signature");
    // Search lists the image, never its accessories.
    const search = (await apiOk<{ results: { digest: string }[] }>(wharf.url, `/api/v1/search?q=acc/app`))
      .body;
    assert.deepEqual(
      search.results.map((r) => r.digest),
      [image.digest],
    );
  });

  test("an index's children are listed under it; deleting the index lists them again", async () => {
    const repo = "multi/app";
    const c = KIND_CASES.find((k) => k.name.startsWith("multi-platform"))!;
    const index = await pushShaped(wharf.url, repo, "latest", c.manifest);
    const listed = await allPages<ArtifactSummary>(
      wharf.url,
      `/api/v1/repositories/${repo}/artifacts`,
      "artifacts",
    );
    assert.deepEqual(
      listed.items.map((a) => a.digest),
      [index.digest],
    );
    assert.equal(listed.items[0]?.kind, "image-index");
    const del = await fetch(`${wharf.url}/v2/${repo}/manifests/${index.digest}`, { method: "DELETE" });
    assert.equal(del.status, 202);
    const after = await allPages<ArtifactSummary>(
      wharf.url,
      `/api/v1/repositories/${repo}/artifacts`,
      "artifacts",
    );
    assert.equal(after.items.length, 3);
    assert.ok(after.items.every((a) => a.digest !== index.digest));
  });

  test("GET /api/v1/kinds lists the catalogue with an icon URL per kind, served as SVG", async () => {
    const { items } = await allPages<{ id: string; iconUrl: string; actions: unknown[] }>(
      wharf.url,
      "/api/v1/kinds?n=10",
      "kinds",
    );
    assert.deepEqual(
      items.map((k) => k.id),
      BUILTIN_KINDS.map((k) => k.id),
    );
    const helm = items.find((k) => k.id === "helm-chart")!;
    const icon = await fetch(`${wharf.url}${helm.iconUrl}`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get("content-type"), "image/svg+xml");
    assert.match(icon.headers.get("cache-control") ?? "", /max-age=\d{5,}/);
    assert.match(await icon.text(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const missing = await api(wharf.url, "/api/v1/kinds/no-such-kind/icon.svg");
    assert.equal(missing.status, 404);
  });

  test("repositories list kinds present, tag count, size, last push and description; kind filters", async () => {
    const repo = "described/web";
    await pushImage(wharf.url, repo, "1", { "org.opencontainers.image.description": "old" });
    const newer = await pushImage(wharf.url, repo, "2", {
      "org.opencontainers.image.description": "The web tier",
    });
    const { items } = await allPages<RepositoryView>(wharf.url, "/api/v1/repositories?n=7", "repositories");
    const web = items.find((r) => r.name === repo);
    assert.ok(web, "listed");
    assert.deepEqual(web.kinds, ["oci-image"]);
    assert.equal(web.tagCount, 2);
    assert.equal(web.description, "The web tier");
    assert.ok(web.size > newer.size, String(web.size));
    assert.ok(web.lastPush && !Number.isNaN(Date.parse(web.lastPush)));
    const charts = await allPages<RepositoryView>(
      wharf.url,
      "/api/v1/repositories?kind=helm-chart",
      "repositories",
    );
    // The chart fixture and the charts with broken configs (pushed by another test of this suite): no others.
    const chartRepos = [...pushed.values()].filter((p) => p.expect === "helm-chart").map((p) => p.repo);
    const listed = charts.items.map((r) => r.name);
    assert.ok(
      chartRepos.every((name) => listed.includes(name)),
      JSON.stringify(listed),
    );
    assert.deepEqual(
      listed.filter((name) => !chartRepos.includes(name)),
      listed.filter((name) => name.startsWith("bad/")),
    );
    const bad = await api<{ errors: { code: string }[] }>(wharf.url, "/api/v1/repositories?kind=Not*A*Kind");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0]?.code, "INVALID_REQUEST");
  });
});

describe("discovery: artifacts pushed by real clients", { timeout: 600_000 }, () => {
  let wharf: TestServer;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-discovery-clients-"));
    wharf = await startWharf();
  });
  after(async () => {
    await wharf?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("helm push: a Helm chart with its name, version and appVersion and a helm install action", async () => {
    const { helm, packageChart } = await import("../interop/support.js");
    const run = helm(join(dir, "helm"));
    const chart = await packageChart(run, dir, "wharf-demo", "0.3.1");
    await run(["push", chart, `oci://${wharf.host}/charts`]);
    const detail = (await apiOk<ArtifactDetail>(wharf.url, "/api/v1/artifacts/charts/wharf-demo:0.3.1")).body;
    assert.equal(detail.kind.id, "helm-chart");
    assert.equal(detail.facts.chart?.name, "wharf-demo");
    assert.equal(detail.facts.chart?.version, "0.3.1");
    assert.equal(detail.facts.version, "0.3.1");
    assert.ok(
      detail.actions.some(
        (a) => a.command === `helm install my-release oci://${wharf.host}/charts/wharf-demo --version 0.3.1`,
      ),
      JSON.stringify(detail.actions),
    );
  });

  test("skopeo copy: an OCI image and a multi-platform index with their platforms", async () => {
    const { podmanEnv, run } = await import("../helpers/clients.js");
    const { writeBusyboxLayout, writeIndexLayout } = await import("../helpers/oci-layout.js");
    const containers = await podmanEnv(join(dir, "containers"));
    const src = join(dir, "src");
    await writeBusyboxLayout(src, "v1");
    await writeIndexLayout(src, {
      tag: "multi",
      images: [
        { platform: { os: "linux", architecture: "amd64" }, files: { "arch.txt": "amd64\n" } },
        { platform: { os: "linux", architecture: "arm64", variant: "v8" }, files: { "arch.txt": "arm64\n" } },
      ],
    });
    const copy = (from: string, to: string, ...flags: string[]) =>
      run(
        "skopeo",
        [
          "--policy",
          containers.policy,
          "copy",
          "--dest-tls-verify=false",
          ...flags,
          from,
          `docker://${wharf.host}/${to}`,
        ],
        { env: containers.env, timeout: 90_000 },
      );
    await copy(`oci:${src}:v1`, "tools/busybox:v1");
    await copy(`oci:${src}:multi`, "tools/multi:1", "--multi-arch", "all");
    const image = (await apiOk<ArtifactDetail>(wharf.url, "/api/v1/artifacts/tools/busybox:v1")).body;
    assert.equal(image.kind.id, "oci-image");
    assert.equal(image.facts.layerCount, 1);
    assert.ok(image.actions.some((a) => a.command === `docker run --rm ${wharf.host}/tools/busybox:v1`));
    const index = (await apiOk<ArtifactDetail>(wharf.url, "/api/v1/artifacts/tools/multi:1")).body;
    assert.equal(index.kind.id, "image-index");
    assert.deepEqual(index.facts.platforms, ["linux/amd64", "linux/arm64/v8"]);
    const listing = (
      await apiOk<{ artifacts: ArtifactSummary[] }>(wharf.url, "/api/v1/repositories/tools/multi/artifacts")
    ).body;
    assert.deepEqual(
      listing.artifacts.map((a) => a.kind),
      ["image-index"],
    );
  });
});
