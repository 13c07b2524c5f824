import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { KIND_CASES } from "../unit/kinds-fixtures.js";
import { pushImage, pushShaped } from "../discovery/support.js";
import {
  ADMIN,
  addRule,
  pushImage as pushAuthImage,
  basic,
  startAuthServer,
  type AuthServer,
} from "../auth/support.js";
import { BUILTIN_KINDS } from "../../src/oci/kinds/index.js";
import { Client } from "../../src/client/client.js";
import { listArtifacts, type FallbackSource } from "../../src/client/discovery/listing.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { cliHome, type CliHome, type CliResult } from "./cli.js";
import { makeWorkspace, type Workspace } from "./workspace.js";

interface ListingJson {
  registry: string;
  namespace: string | null;
  source: string;
  kinds: string[] | null;
  artifacts: {
    repository: string;
    tags: string[];
    digest: string;
    kind: string;
    title: string | null;
    version: string | null;
    size: number | null;
    accessories: Record<string, number>;
  }[];
}

const OPERATOR_KINDS = `
kinds:
  - id: acme-katalog
    title: Katalog
    description: A team's own catalogue of services.
    icon: catalog
    detect:
      artifactTypes: [application/vnd.acme.katalog.v1]
    actions:
      - label: Pull
        template: "ork registry pull {reference}"
`;

function caseOf(kind: string) {
  const found = KIND_CASES.find((c) => c.expect === kind && !c.parentAnnotations && !c.tag);
  assert.ok(found, kind);
  return found;
}

function ok(result: CliResult): string {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

describe("wharf kinds, ls --kind and search against Wharf's discovery API", { timeout: 300_000 }, () => {
  let wharf: TestServer;
  let cli: CliHome;
  let ws: Workspace;
  let host: string;
  let sbom: string;

  before(async () => {
    cli = await cliHome();
    const config = join(cli.dir, "wharf.yaml");
    await writeFile(config, OPERATOR_KINDS);
    wharf = await startWharf({ args: ["--config", config] });
    host = wharf.host;
    ws = await makeWorkspace(cli.dir);
    ok(await cli.run(["push", `${host}/charts/mychart`, ws.chart]));
    ok(
      await cli.run([
        "push",
        `${host}/team/deploy:v1`,
        ws.manifests,
        "-a",
        "org.opencontainers.image.title=Deploy manifests",
      ]),
    );
    const web = await pushImage(wharf.url, "apps/web", "v1", { "org.opencontainers.image.title": "Web" });
    sbom = (
      await pushShaped(wharf.url, "apps/web", null, {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: "application/spdx+json",
        config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2 },
        layers: [{ mediaType: "application/spdx+json", size: 100 }],
        subject: { mediaType: web.mediaType, digest: web.digest, size: web.size },
      })
    ).digest;
    for (const kind of ["opa-policy", "kyverno-policy"]) {
      const c = caseOf(kind);
      await pushShaped(wharf.url, `policies/${kind}`, "v1", c.manifest, c.config);
    }
    await pushShaped(wharf.url, "team/katalog", "v1", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.acme.katalog.v1",
      config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2 },
      layers: [{ mediaType: "application/vnd.acme.katalog.layer.v1", size: 10 }],
    });
  });
  after(async () => {
    await wharf?.stop();
    await cli?.cleanup();
  });

  const listing = async (args: string[]): Promise<ListingJson> =>
    JSON.parse(ok(await cli.run([...args, "--json"]))) as ListingJson;

  test("wharf kinds: the built-in catalogue, or a registry's with its operator kinds", async () => {
    const builtin = JSON.parse(ok(await cli.run(["kinds", "--json"]))) as {
      source: string;
      kinds: { id: string; accessory: boolean }[];
    };
    assert.equal(builtin.source, "builtin");
    assert.deepEqual(
      builtin.kinds.map((k) => [k.id, k.accessory]),
      BUILTIN_KINDS.map((k) => [k.id, k.accessory]),
    );
    const table = ok(await cli.run(["kinds"]));
    assert.match(table, /^ID\s+TITLE\s+ACCESSORY\s+DESCRIPTION$/m);
    assert.match(table, /^helm-chart\s+Helm chart\s+no\s+A packaged Helm chart for Kubernetes\.$/m);
    assert.match(table, /^cosign-signature\s+.*\s+yes\s+/m);

    const remote = JSON.parse(ok(await cli.run(["kinds", "--registry", host, "--json"]))) as {
      source: string;
      kinds: { id: string; title: string }[];
    };
    assert.equal(remote.source, "registry");
    assert.deepEqual(remote.kinds[0], {
      id: "acme-katalog",
      title: "Katalog",
      description: "A team's own catalogue of services.",
      icon: "catalog",
      accessory: false,
    });
    assert.equal(remote.kinds.length, BUILTIN_KINDS.length + 1);
  });

  test("ls --kind chart: only charts, as a table of kind, reference, title, version, size and push time", async () => {
    const json = await listing(["ls", host, "--kind", "chart"]);
    assert.equal(json.source, "wharf-api");
    assert.deepEqual(json.kinds, ["helm-chart"]);
    assert.deepEqual(
      json.artifacts.map((a) => [a.repository, a.tags, a.kind, a.title, a.version]),
      [["charts/mychart", ["0.1.0"], "helm-chart", "mychart", "0.1.0"]],
    );
    const lines = ok(await cli.run(["ls", host, "--kind", "chart"]))
      .trimEnd()
      .split("\n");
    assert.match(lines[0] ?? "", /^KIND\s+REFERENCE\s+TITLE\s+VERSION\s+SIZE\s+PUSHED$/);
    assert.match(
      lines[1] ?? "",
      new RegExp(
        `^Helm chart\\s+${host}/charts/mychart:0\\.1\\.0\\s+mychart\\s+0\\.1\\.0\\s+\\d+ B\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d$`,
      ),
    );
    assert.equal(lines.length, 2);
  });

  test("ls NAMESPACE --kind with a word of several kinds, and an operator's kind", async () => {
    const policies = await listing(["ls", `${host}/policies`, "--kind", "policy"]);
    assert.deepEqual(policies.kinds, ["opa-policy", "kyverno-policy"]);
    assert.deepEqual(policies.artifacts.map((a) => a.kind).sort(), ["kyverno-policy", "opa-policy"]);
    // Below team/ only: nothing from charts/, apps/ or policies/.
    const team = await listing(["ls", `${host}/team`, "--kind", "katalog"]);
    assert.deepEqual(
      team.artifacts.map((a) => [a.repository, a.kind]),
      [["team/katalog", "acme-katalog"]],
    );
    const none = await cli.run(["ls", host, "--kind", "no-such-kind"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--kind "no-such-kind" names no kind/);
  });

  test("ls --kind and search --kind without a registry use the kind's default", async () => {
    const config = join(cli.dir, "xdg");
    await mkdir(join(config, "wharf"), { recursive: true });
    await writeFile(
      join(config, "wharf", "config.yaml"),
      `registry: oci://${host}/team\nregistries:\n  chart: oci://${host}/charts\n`,
    );
    const env = { XDG_CONFIG_HOME: config };
    const charts = JSON.parse(ok(await cli.run(["ls", "--kind", "chart", "--json"], { env }))) as ListingJson;
    assert.deepEqual([charts.registry, charts.namespace], [host, "charts"]);
    assert.deepEqual(
      charts.artifacts.map((a) => a.repository),
      ["charts/mychart"],
    );
    const found = JSON.parse(
      ok(await cli.run(["search", "deploy", "--kind", "artifact", "--json"], { env })),
    ) as ListingJson;
    assert.deepEqual([found.namespace, found.artifacts.map((a) => a.repository)], ["team", ["team/deploy"]]);
  });

  test("accessories are listed under the artifact they refer to, not on their own", async () => {
    const json = await listing(["ls", `${host}/apps`, "--kind", "image"]);
    assert.deepEqual(
      json.artifacts.map((a) => [a.repository, a.kind, a.accessories]),
      [["apps/web", "oci-image", { "spdx-sbom": 1 }]],
    );
    const all = await listing(["ls", `${host}/apps`, "--kind", "sbom"]);
    assert.ok(!all.artifacts.some((a) => a.digest === sbom), "the SBOM is not a top-level artifact");
    const lines = ok(await cli.run(["ls", `${host}/apps`, "--kind", "image"])).split("\n");
    const row = lines.findIndex((l) => l.includes(`${host}/apps/web:v1`));
    assert.ok(row > 0, lines.join("\n"));
    assert.equal(lines[row + 1], "  └ 1 SPDX SBOM");
  });

  test("search: names first, filtered by kind, namespace and annotation", async () => {
    const found = await listing(["search", "mychart", "--registry", host]);
    assert.equal(found.source, "wharf-api");
    assert.equal(found.artifacts[0]?.repository, "charts/mychart");
    const deploy = await listing(["search", "deploy", "--registry", host]);
    assert.deepEqual(
      deploy.artifacts.map((a) => a.repository),
      ["team/deploy"],
    );
    assert.deepEqual(
      (await listing(["search", "deploy", "--kind", "chart", "--registry", host])).artifacts,
      [],
    );
    const scoped = await listing(["search", "v1", "--registry", `${host}/team`]);
    assert.ok(scoped.artifacts.length > 0);
    assert.ok(scoped.artifacts.every((a) => a.repository.startsWith("team/")));
    const annotated = await listing([
      "search",
      "--annotation",
      "org.opencontainers.image.title=Web",
      "--registry",
      host,
    ]);
    assert.deepEqual(
      annotated.artifacts.map((a) => a.repository),
      ["apps/web"],
    );
    const table = ok(await cli.run(["search", "mychart", "--registry", host]));
    assert.match(
      table,
      new RegExp(`^Helm chart\\s+${host}/charts/mychart:0\\.1\\.0\\s+mychart\\s+0\\.1\\.0`, "m"),
    );
    const missing = await cli.run(["search", "x"], { env: { WHARF_REGISTRY: "" } });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--registry HOST\[\/NAMESPACE\], or set a default \(WHARF_REGISTRY=/);
  });
});

describe("discovery on a registry without the API", { timeout: 120_000 }, () => {
  let distribution: Distribution;
  let cli: CliHome;

  before(async () => {
    distribution = await startDistribution();
    cli = await cliHome();
  });
  after(async () => {
    await distribution?.stop();
    await cli?.cleanup();
  });

  test("wharf kinds --registry falls back to the built-in catalogue and says so", async () => {
    const result = await cli.run(["kinds", "--registry", distribution.host, "--json"]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { source: string }).source, "builtin");
    assert.match(result.stderr, /has no Wharf discovery API: showing the built-in catalogue/);
  });

  test("listings go to the next source, filtered by kind and namespace, saying which one answered", async () => {
    const queries: unknown[] = [];
    const index: FallbackSource = {
      id: "index",
      list: async (_client, query) => {
        queries.push(query);
        const entry = (repository: string, kind: string) => ({
          repository,
          tags: ["v1"],
          digest: `sha256:${"a".repeat(64)}`,
          kind,
          kindTitle: kind,
          title: null,
          version: null,
          description: null,
          updated: null,
        });
        return {
          source: "index",
          registry: distribution.host,
          namespace: "team",
          artifacts: [
            entry("team/chart", "helm-chart"),
            entry("team/app", "oci-image"),
            entry("other/x", "helm-chart"),
          ],
          truncated: false,
          notes: [],
        };
      },
    };
    const client = new Client({ env: cli.env });
    try {
      const listed = await listArtifacts(
        client,
        { registry: distribution.host, namespace: "team", kind: "chart" },
        { fallbacks: [{ id: "catalog", list: async () => undefined }, index] },
      );
      assert.equal(listed.source, "index");
      assert.deepEqual(
        listed.artifacts.map((a) => a.repository),
        ["team/chart"],
      );
      assert.deepEqual(queries, [{ registry: distribution.host, namespace: "team", kind: "helm-chart" }]);
      assert.deepEqual(listed.notes, [`${distribution.host} has no Wharf discovery API`]);
    } finally {
      client.close();
    }
  });
});

describe("discovery as the caller: what the stored credentials may pull", { timeout: 120_000 }, () => {
  let server: AuthServer;
  let cli: CliHome;
  let host: string;

  before(async () => {
    server = await startAuthServer();
    host = new URL(server.url).host;
    cli = await cliHome();
    await pushAuthImage(server.url, "public/app", "v1", basic(ADMIN));
    await pushAuthImage(server.url, "private/app", "v1", basic(ADMIN));
    await addRule(server.url, "anonymous", "public/**", ["pull"]);
  });
  after(async () => {
    await server?.stop();
    await cli?.cleanup();
  });

  test("anonymous sees only what anonymous may pull; logged in, the account's view", async () => {
    const names = async (env: Record<string, string> = {}) => {
      const result = await cli.run(["ls", host, "--kind", "image", "--json"], { env });
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as ListingJson).artifacts.map((a) => a.repository).sort();
    };
    assert.deepEqual(await names(), ["public/app"]);
    const hidden = await cli.run(["search", "private", "--registry", host, "--json"]);
    assert.equal(hidden.code, 0, hidden.stderr);
    assert.deepEqual((JSON.parse(hidden.stdout) as ListingJson).artifacts, []);
    assert.ok(
      hidden.stderr.includes(
        `anonymous callers see only what anonymous may pull: run \`wharf login ${host}\``,
      ),
      hidden.stderr,
    );
    const docker = join(cli.dir, "docker-admin");
    await mkdir(docker, { recursive: true });
    const auth = Buffer.from(`${ADMIN.name}:${ADMIN.password}`).toString("base64");
    await writeFile(join(docker, "config.json"), JSON.stringify({ auths: { [host]: { auth } } }));
    assert.deepEqual(await names({ DOCKER_CONFIG: docker }), ["private/app", "public/app"]);
  });
});
