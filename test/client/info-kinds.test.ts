import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startWharf, type TestServer } from "../helpers/server.js";
import { KIND_CASES } from "../unit/kinds-fixtures.js";
import { pushImage, pushShaped } from "../discovery/support.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { startProxy, type TestProxy } from "./proxy.js";
import { cliHome, type CliHome } from "./cli.js";
import { makeWorkspace, type Workspace } from "./workspace.js";
import { pushShapedTo } from "./shaped.js";
import { Client } from "../../src/client/client.js";

interface InfoJson {
  digest: string;
  kind: { id: string; title: string; icon: string };
  kindSource: "wharf-api" | "manifest";
  facts: Record<string, unknown> & { chart: { name: string; version: string } | null };
  accessories: Record<string, { digest: string; kind: string; tags: string[] }[]>;
  actions: { label: string; command: string }[];
}

const SPDX = "application/spdx+json";

function sbomFor(subject: { digest: string; size: number; mediaType: string }) {
  return {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: SPDX,
    config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2 },
    layers: [{ mediaType: SPDX, size: 100 }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  };
}

describe("wharf info: kind, facts, accessories and actions", { timeout: 300_000 }, () => {
  let wharf: TestServer;
  let distribution: Distribution;
  let cli: CliHome;
  let ws: Workspace;

  before(async () => {
    [wharf, distribution] = await Promise.all([startWharf(), startDistribution()]);
    cli = await cliHome();
    ws = await makeWorkspace(cli.dir);
  });
  after(async () => {
    await Promise.all([wharf?.stop(), distribution?.stop()]);
    await cli?.cleanup();
  });

  const info = async (ref: string, ...args: string[]): Promise<InfoJson> => {
    const result = await cli.run(["info", ref, "--json", ...args]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as InfoJson;
  };

  test("a chart on Wharf: kind and actions from the discovery API, an SBOM among its accessories", async () => {
    const pushed = await cli.run(["push", `${wharf.host}/charts/mychart`, ws.chart]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const chart = await info(`${wharf.host}/charts/mychart:0.1.0`);
    assert.equal(chart.kindSource, "wharf-api");
    assert.equal(chart.kind.id, "helm-chart");
    assert.equal(chart.kind.icon, "chart");
    assert.deepEqual([chart.facts.chart?.name, chart.facts.chart?.version], ["mychart", "0.1.0"]);
    assert.ok(
      chart.actions.some((a) => a.command === `helm pull oci://${wharf.host}/charts/mychart --version 0.1.0`),
      JSON.stringify(chart.actions),
    );

    const image = await pushImage(wharf.url, "apps/web", "v1", {
      "org.opencontainers.image.title": "Web",
      "org.opencontainers.image.version": "1.2.3",
    });
    const sbom = await pushShaped(
      wharf.url,
      "apps/web",
      null,
      sbomFor({ ...image, mediaType: image.mediaType }),
    );
    const described = await info(`${wharf.host}/apps/web:v1`);
    assert.equal(described.kind.id, "oci-image");
    assert.equal(described.facts.version, "1.2.3");
    assert.deepEqual(
      described.accessories["spdx-sbom"]?.map((a) => a.digest),
      [sbom.digest],
    );

    const text = await cli.run(["info", `${wharf.host}/apps/web:v1`]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Kind:\s+OCI image \(oci-image, icon \w+\)$/m);
    assert.match(text.stdout, /^Version:\s+1\.2\.3$/m);
    assert.match(text.stdout, new RegExp(`^Accessories \\(1\\):\\n\\s+SPDX SBOM\\s+${sbom.digest}`, "m"));
    assert.match(text.stdout, /^Actions:$/m);
  });

  test("on Distribution every shipped kind is decided client-side from the manifest and config", async () => {
    const cases = KIND_CASES.filter((c) => !c.parentAnnotations);
    const wrong: string[] = [];
    const refused: string[] = [];
    let checked = 0;
    const client = new Client({ env: cli.env });
    for (const [i, c] of cases.entries()) {
      const repo = `kinds/k${i}`;
      const tag = c.tag ?? "v1";
      try {
        await pushShapedTo(client, distribution.host, repo, tag, c.manifest, c.config);
      } catch (err) {
        // Distribution 2.8 refuses a few shapes it predates; Wharf's own tests cover those.
        refused.push(`${c.name}: ${(err as Error).message}`);
        continue;
      }
      const described = await info(`${distribution.host}/${repo}:${tag}`, "--no-referrers");
      checked += 1;
      assert.equal(described.kindSource, "manifest");
      if (described.kind.id !== c.expect) wrong.push(`${c.name}: ${described.kind.id}, expected ${c.expect}`);
    }
    client.close();
    assert.deepEqual(wrong, []);
    assert.ok(checked >= 35, `only ${checked} of ${cases.length} pushed:\n${refused.join("\n")}`);
  });

  test("on Distribution: chart facts from the config blob, a cosign signature by its tag, no layer read", async () => {
    const proxy: TestProxy = await startProxy({ target: distribution.url });
    try {
      const pushed = await cli.run(["push", `${proxy.host}/charts/mychart`, ws.chart, "--json"]);
      assert.equal(pushed.code, 0, pushed.stderr);
      const { digest, layers } = JSON.parse(pushed.stdout) as {
        digest: string;
        layers: { digest: string }[];
      };
      const client = new Client({ env: cli.env });
      const signature = await pushShapedTo(
        client,
        distribution.host,
        "charts/mychart",
        `${digest.replace(":", "-")}.sig`,
        {
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 2 },
          layers: [{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", size: 200 }],
        },
      );
      client.close();

      proxy.seen.length = 0;
      const chart = await info(`${proxy.host}/charts/mychart:0.1.0`);
      assert.equal(chart.kindSource, "manifest");
      assert.equal(chart.kind.id, "helm-chart");
      assert.deepEqual([chart.facts.chart?.name, chart.facts.title], ["mychart", "mychart"]);
      assert.deepEqual(
        chart.accessories["cosign-signature"]?.map((a) => [a.digest, a.tags]),
        [[signature.digest, [`${digest.replace(":", "-")}.sig`]]],
      );
      assert.ok(
        chart.actions.some(
          (a) => a.command === `helm install my-release oci://${proxy.host}/charts/mychart --version 0.1.0`,
        ),
        JSON.stringify(chart.actions),
      );
      const blobReads = proxy.seen.filter((r) => r.method === "GET" && r.url.includes("/blobs/"));
      assert.equal(blobReads.length, 1, "only the config blob is read");
      for (const layer of layers) assert.ok(!blobReads.some((r) => r.url.includes(layer.digest)));
    } finally {
      await proxy.close();
    }
  });

  test("an OCI layout is described too, with no registry to name in actions", async () => {
    const layout = `oci:${cli.dir}/layout:0.1.0`;
    const pushed = await cli.run(["push", layout, ws.chart]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const chart = await info(layout);
    assert.equal(chart.kind.id, "helm-chart");
    assert.equal(chart.facts.chart?.version, "0.1.0");
    assert.deepEqual(chart.actions, []);
  });
});
