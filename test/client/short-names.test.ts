import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cliHome, type CliHome } from "./cli.js";
import { ok, registries, type Registry } from "./registries.js";

for (const kind of registries) {
  describe(`short names and default registries against ${kind.name}`, () => {
    let registry: Registry;
    let cli: CliHome;
    let host: string;
    let postgres: string;
    let baseline: string;
    let configDir: string;

    async function writeConfig(text: string): Promise<string> {
      await mkdir(join(configDir, "wharf"), { recursive: true });
      const path = join(configDir, "wharf", "config.yaml");
      await writeFile(path, text);
      return path;
    }

    before(async () => {
      registry = await kind.start();
      host = registry.host;
      cli = await cliHome();
      configDir = join(cli.dir, "xdg-config");
      const file = join(cli.dir, "postgres.txt");
      await writeFile(file, "postgres 14\n");
      postgres = ok(await cli.run(["push", `${host}/library/postgres:v14`, file])).stdout.trim();
      const policy = join(cli.dir, "baseline.rego");
      await writeFile(policy, "package baseline\n");
      baseline = ok(await cli.run(["push", `${host}/policies/baseline:v1`, policy])).stdout.trim();
    });
    after(async () => {
      await cli.cleanup();
      await registry.stop();
    });

    test("WHARF_REGISTRY=oci://host/namespace resolves a short name below the namespace", async () => {
      const out = join(cli.dir, "pulled");
      const env = { WHARF_REGISTRY: `oci://${host}/library` };
      const pulled = ok(await cli.run(["pull", "postgres:v14", "-o", out], { env }));
      assert.equal(pulled.stdout.trim(), postgres);
      assert.equal(await readFile(join(out, "postgres.txt"), "utf8"), "postgres 14\n");
      const info = ok(await cli.run(["info", "postgres:v14"], { env }));
      assert.match(info.stdout, /^Resolved through:\s+WHARF_REGISTRY$/m);
      assert.match(info.stdout, new RegExp(`^Reference:\\s+${host}/library/postgres:v14$`, "m"));
    });

    test("a bare-host WHARF_REGISTRY still works as before", async () => {
      const info = ok(
        await cli.run(["info", "library/postgres:v14", "--json"], { env: { WHARF_REGISTRY: host } }),
      );
      const json = JSON.parse(info.stdout) as { digest: string; resolvedThrough: string; reference: string };
      assert.equal(json.digest, postgres);
      assert.equal(json.resolvedThrough, "WHARF_REGISTRY");
      assert.equal(json.reference, `${host}/library/postgres:v14`);
    });

    test("registries.<kind> in the config file serves --kind; registry: serves the rest", async () => {
      const path = await writeConfig(
        `registry: oci://${host}/library\nregistries:\n  policy: oci://${host}/policies\n`,
      );
      const env = { XDG_CONFIG_HOME: configDir };
      const out = join(cli.dir, "policy");
      const pulled = ok(await cli.run(["pull", "--kind", "policy", "baseline:v1", "-o", out], { env }));
      assert.equal(pulled.stdout.trim(), baseline);
      const info = ok(await cli.run(["info", "--kind", "policy", "baseline:v1", "--json"], { env }));
      const json = JSON.parse(info.stdout) as { digest: string; resolvedThrough: string };
      assert.equal(json.digest, baseline);
      assert.equal(json.resolvedThrough, `registries.policy in ${path}`);
      // A kind id whose family word has the entry goes through it too.
      const byId = ok(await cli.run(["info", "--kind", "opa-policy", "baseline:v1", "--json"], { env }));
      assert.equal((JSON.parse(byId.stdout) as { digest: string }).digest, baseline);
      const general = ok(await cli.run(["info", "postgres:v14"], { env }));
      assert.match(
        general.stdout,
        new RegExp(`^Resolved through:\\s+registry in ${path.replace(/[.]/g, "\\.")}$`, "m"),
      );
      // WHARF_REGISTRY wins over the file's registry:, a per-kind entry over both.
      const envWins = ok(
        await cli.run(["info", "postgres:v14", "--json"], {
          env: { ...env, WHARF_REGISTRY: `${host}/library` },
        }),
      );
      assert.equal(
        (JSON.parse(envWins.stdout) as { resolvedThrough: string }).resolvedThrough,
        "WHARF_REGISTRY",
      );
    });

    test("host/repo@v7 is tag v7, and oci:// prefixes are accepted", async () => {
      for (const ref of [`${host}/library/postgres@v14`, `oci://${host}/library/postgres@v14`]) {
        const info = ok(await cli.run(["info", ref, "--json", "--no-referrers"]));
        const json = JSON.parse(info.stdout) as { digest: string; reference: string };
        assert.equal(json.digest, postgres, ref);
        assert.equal(json.reference, `${host}/library/postgres:v14`);
      }
      const bad = await cli.run(["info", `${host}/library/postgres@sha256:abc`]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /bad digest/);
    });

    test("a short name without a default is an error that says how to set one, exit 2", async () => {
      const result = await cli.run(["pull", "postgres:v14", "-o", join(cli.dir, "none")]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /"postgres:v14" is a short name and no default registry is set/);
      assert.match(result.stderr, /WHARF_REGISTRY=oci:\/\/HOST\/NAMESPACE/);
      assert.match(result.stderr, /registry: oci:\/\/HOST\/NAMESPACE in ~\/\.config\/wharf\/config\.yaml/);
      const perKind = await cli.run(["info", "--kind", "chart", "mychart:1.0.0"]);
      assert.equal(perKind.code, 2, perKind.stderr);
      assert.match(perKind.stderr, /registries: \{chart: oci:\/\/HOST\/NAMESPACE\}/);
    });

    test("a bad config file or --kind stops the command with a message naming the setting", async () => {
      const env = { XDG_CONFIG_HOME: configDir };
      const cases: [string, RegExp][] = [
        ["registries:\n  gizmo: oci://x.example/y\n", /registries key "gizmo" is not a kind/],
        [
          "registries:\n  chart: http://x.example/charts\n",
          /registries\.chart: "http:\/\/x\.example\/charts" must be oci:\/\//,
        ],
        [
          "registries:\n  chart: oci://x.example/Charts\n",
          /registries\.chart: namespace "Charts" must be lower-case/,
        ],
        [
          "registrys: oci://x.example\n",
          /unknown setting "registrys" \(known: registry, registries, index\)/,
        ],
        ["registry: [a\n", /is not valid YAML/],
        ["index: yes\n", /index must be true or false/],
      ];
      for (const [text, expected] of cases) {
        const path = await writeConfig(text);
        const result = await cli.run(["info", "postgres:v14"], { env });
        assert.equal(result.code, 2, `${text}\n${result.stderr}`);
        assert.match(result.stderr, expected);
        assert.ok(result.stderr.includes(path), result.stderr);
      }
      const badKind = await cli.run(["pull", "--kind", "gizmo", `${host}/library/postgres:v14`]);
      assert.equal(badKind.code, 2, badKind.stderr);
      assert.match(badKind.stderr, /--kind "gizmo" is not a kind/);
    });
  });
}
