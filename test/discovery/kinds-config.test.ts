import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { allPages, apiOk, pushShaped, type ArtifactDetail } from "./support.js";

const repoRoot = resolve(import.meta.dirname, "..", "..");
const KATALOG = "application/vnd.acme.katalog.v1";

const VALID = `
kinds:
  - id: acme-katalog
    title: Katalog
    description: A team's own catalogue of services.
    icon: catalog
    detect:
      artifactTypes: [${KATALOG}]
    actions:
      - label: Pull
        template: "ork registry pull {reference}"
  - id: helm-chart
    actions:
      - label: Deploy
        template: "acme deploy oci://{registry}/{repository}:{tag}"
`;

/** Runs `wharf serve` with the config until it exits (it must not start). */
function serveUntilExit(config: string, dataDir: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "bin", "wharf"),
      "serve",
      "--config",
      config,
      "--listen",
      "127.0.0.1:0",
      "--data-dir",
      dataDir,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WHARF_LOG_LEVEL: "warn" } },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

describe("discovery: operator kinds in the server config", { timeout: 120_000 }, () => {
  let wharf: TestServer;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-kinds-config-"));
    await writeFile(join(dir, "wharf.yaml"), VALID);
    wharf = await startWharf({ args: ["--config", join(dir, "wharf.yaml")] });
  });
  after(async () => {
    await wharf?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("an operator's kind is detected, listed first in the catalogue, and its action rendered", async () => {
    const pushed = await pushShaped(wharf.url, "acme/payments", "v3", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: KATALOG,
      config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2 },
      layers: [{ mediaType: "application/yaml", size: 300 }],
    });
    const detail = (await apiOk<ArtifactDetail>(wharf.url, "/api/v1/artifacts/acme/payments:v3")).body;
    assert.equal(detail.digest, pushed.digest);
    assert.equal(detail.kind.id, "acme-katalog");
    assert.equal(detail.kind.title, "Katalog");
    assert.deepEqual(detail.actions, [
      { label: "Pull", command: `ork registry pull ${wharf.host}/acme/payments:v3` },
    ]);
    const kinds = await allPages<{ id: string; actions: { template: string }[] }>(
      wharf.url,
      "/api/v1/kinds",
      "kinds",
    );
    assert.equal(kinds.items[0]?.id, "acme-katalog");
    // A built-in kind overridden in place keeps its detection and takes the operator's actions.
    const helm = kinds.items.find((k) => k.id === "helm-chart");
    assert.deepEqual(
      helm?.actions.map((a) => a.template),
      ["acme deploy oci://{registry}/{repository}:{tag}"],
    );
    const icon = await fetch(`${wharf.url}/api/v1/kinds/acme-katalog/icon.svg`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get("content-type"), "image/svg+xml");
  });

  test("an invalid kinds: entry stops start-up with exit 2 and a message naming the entry", async () => {
    const cases: [string, RegExp][] = [
      [
        `kinds:\n  - id: acme-good\n    title: Good\n    description: fine\n    detect: {artifactTypes: [application/vnd.acme.good]}\n  - id: acme-bad\n    title: Bad\n    description: broken\n    detect: {artifactTypes: ["not a media type"]}\n`,
        /kinds\[1\] \(acme-bad\): detect\.artifactTypes\[0\]/,
      ],
      [
        `kinds:\n  - id: acme-x\n    title: X\n    description: x\n    icon: no-such-icon\n    detect: {artifactTypes: [application/x]}\n`,
        /kinds\[0\] \(acme-x\): icon/,
      ],
      [
        `kinds:\n  - id: acme-y\n    title: Y\n    description: y\n    detect: {artifactTypes: [application/y]}\n    actions: [{label: Run, template: "run {nope}"}]\n`,
        /kinds\[0\] \(acme-y\): actions\[0\]\.template: unknown placeholder \{nope\}/,
      ],
      [`kinds: {id: not-a-list}\n`, /kinds.*must be a list/],
    ];
    for (const [yaml, message] of cases) {
      const file = join(dir, "bad.yaml");
      await writeFile(file, yaml);
      const data = await mkdtemp(join(dir, "data-"));
      const { code, output } = await serveUntilExit(file, data);
      assert.equal(code, 2, output);
      assert.match(output, /invalid configuration kinds: /);
      assert.match(output, message);
      assert.doesNotMatch(output, /listening on/);
    }
  });
});
