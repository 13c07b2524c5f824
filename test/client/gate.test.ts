import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { startProxy, type TestProxy } from "./proxy.js";
import { cliHome, type CliHome } from "./cli.js";
import { makeWorkspace, type Workspace } from "./workspace.js";

describe("the publishing gate and the kinds' own checks", { timeout: 120_000 }, () => {
  let wharf: TestServer;
  let proxy: TestProxy;
  let cli: CliHome;
  let ws: Workspace;

  before(async () => {
    wharf = await startWharf();
    // Every request the push makes passes here: a refused push must not have sent one.
    proxy = await startProxy({ target: wharf.url });
    cli = await cliHome();
    ws = await makeWorkspace(cli.dir);
  });
  beforeEach(() => {
    proxy.seen.length = 0;
  });
  after(async () => {
    await proxy?.close();
    await wharf?.stop();
    await cli?.cleanup();
  });

  const tagsOf = async (repo: string) => {
    const res = await fetch(`${wharf.url}/v2/${repo}/tags/list`);
    return res.status === 200 ? ((await res.json()) as { tags: string[] }).tags : [];
  };

  test("a failing --gate publishes nothing, names its exit code, and streams its output to stderr", async () => {
    const result = await cli.run([
      "push",
      `${proxy.host}/team/gated:v1`,
      ws.manifests,
      "--gate",
      'echo "checking $WHARF_REF"; echo "bad manifest" >&2; exit 3',
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, new RegExp(`checking ${proxy.host}/team/gated:v1`));
    assert.match(result.stderr, /bad manifest/);
    assert.match(result.stderr, /the gate `.*` failed with exit code 3: nothing was pushed/);
    assert.deepEqual(proxy.seen, [], "not one request reached the registry");
  });

  test("a passing gate runs in the pushed directory with WHARF_REF, then the push goes ahead", async () => {
    const record = join(cli.dir, "gate-ran.txt");
    const result = await cli.run([
      "push",
      `${proxy.host}/team/gated:v2`,
      ws.manifests,
      "--gate",
      `pwd > ${record}; echo "$WHARF_REF" >> ${record}; echo gate-output`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^sha256:[0-9a-f]{64}\n$/, "stdout is still the digest alone");
    assert.match(result.stderr, /gate-output/);
    assert.equal(
      await readFile(record, "utf8"),
      `${await realpath(ws.manifests)}\n${proxy.host}/team/gated:v2\n`,
    );
    assert.deepEqual(await tagsOf("team/gated"), ["v2"]);
  });

  test("a gate declared in the directory's wharf.yaml runs by itself; --no-gate skips it", async () => {
    const dir = join(cli.dir, "declared");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "deploy.yaml"), "kind: Deployment\n");
    await writeFile(join(dir, "wharf.yaml"), 'gate: test -f ready || { echo "not ready"; exit 4; }\n');

    const refused = await cli.run(["push", `${proxy.host}/team/declared:v1`, dir]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /not ready/);
    assert.ok(
      refused.stderr.includes(`(from ${join(dir, "wharf.yaml")}) failed with exit code 4`),
      refused.stderr,
    );
    assert.deepEqual(proxy.seen, []);

    const skipped = await cli.run(["push", `${proxy.host}/team/declared:v1`, dir, "--no-gate"]);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.doesNotMatch(skipped.stderr, /not ready/);

    await writeFile(join(dir, "ready"), "");
    const passed = await cli.run(["push", `${proxy.host}/team/declared:v2`, dir]);
    assert.equal(passed.code, 0, passed.stderr);
    assert.deepEqual(await tagsOf("team/declared"), ["v1", "v2"]);
  });

  test("a wharf.yaml that is not YAML, or whose gate is not a command, is a usage error", async () => {
    const dir = join(cli.dir, "broken");
    await mkdir(dir, { recursive: true });
    for (const [content, message] of [
      ["gate: [unclosed\n", /wharf\.yaml is not valid YAML/],
      ["gate: 42\n", /wharf\.yaml: gate must be a shell command/],
    ] as const) {
      await writeFile(join(dir, "wharf.yaml"), content);
      const result = await cli.run(["push", `${proxy.host}/team/broken:v1`, dir]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
    assert.deepEqual(proxy.seen, []);
  });

  test("a chart pushed to a tag other than its Chart.yaml version is refused before any upload", async () => {
    const wrong = await cli.run(["push", `${proxy.host}/charts/mychart:v9`, ws.chart]);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(
      wrong.stderr,
      /Chart\.yaml version is 0\.1\.0, but it would be pushed to tag v9: push it to tag 0\.1\.0/,
    );
    assert.deepEqual(proxy.seen, []);

    const right = await cli.run(["push", `${proxy.host}/charts/mychart:0.1.0`, ws.chart]);
    assert.equal(right.code, 0, right.stderr);
    assert.deepEqual(await tagsOf("charts/mychart"), ["0.1.0"]);
  });

  test("a Flux artifact whose YAML does not parse is refused, naming the file and line", async () => {
    const dir = join(cli.dir, "flux");
    await mkdir(join(dir, "apps"), { recursive: true });
    await writeFile(join(dir, "apps", "ok.yaml"), "apiVersion: v1\nkind: ConfigMap\n---\nkind: Service\n");
    await writeFile(join(dir, "apps", "bad.yml"), "apiVersion: v1\nkind: [ConfigMap\n");
    const config = join(cli.dir, "flux-config.json");
    await writeFile(config, "{}");
    const args = [`--config`, `${config}:application/vnd.cncf.flux.config.v1+json`];

    const bad = await cli.run(["push", `${proxy.host}/flux/apps:v1`, dir, ...args]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.ok(bad.stderr.includes(`${join(dir, "apps", "bad.yml")} is not valid YAML (line `), bad.stderr);
    assert.match(bad.stderr, /a Flux artifact's manifests must parse/);
    assert.deepEqual(proxy.seen, []);

    await writeFile(join(dir, "apps", "bad.yml"), "apiVersion: v1\nkind: ConfigMap\n");
    const good = await cli.run(["push", `${proxy.host}/flux/apps:v1`, dir, ...args]);
    assert.equal(good.code, 0, good.stderr);
    const info = await cli.run(["info", `${wharf.host}/flux/apps:v1`, "--json"]);
    assert.equal((JSON.parse(info.stdout) as { kind: { id: string } }).kind.id, "flux-artifact");
  });
});
