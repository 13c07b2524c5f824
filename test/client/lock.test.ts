import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, lstat, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome } from "./cli.js";
import { startDistribution, type Distribution } from "./distribution.js";
import { rawTar } from "./tar-fixtures.js";
import { scanHcl } from "../../src/client/lockfile/hcl-scan.js";
import { scanYaml } from "../../src/client/lockfile/yaml-scan.js";
import type { LockFile } from "../../src/client/lockfile/lockfile.js";

/** The deployment files of one project, as a repository holds them, for registry `host`. */
function fixtures(host: string): Record<string, string> {
  return {
    "k8s/deployment.yaml": [
      "# The API, per project",
      "apiVersion: apps/v1",
      "kind: Deployment",
      "metadata:",
      "  name: api",
      "spec:",
      "  template:",
      "    spec:",
      "      containers:",
      "        - name: api",
      `          image: ${host}/\${context.project_id}/api:v1 # per project`,
      "        - name: sidecar",
      `          image: "${host}/team/bundle:v1"  # shared`,
      "---",
      "apiVersion: v1",
      "kind: Service",
      "metadata: {name: api}",
      "",
    ].join("\n"),
    "chart/Chart.yaml": [
      "apiVersion: v2",
      "name: umbrella",
      "version: 1.0.0",
      "dependencies:",
      "  # the range picks the newest 0.x chart",
      "  - name: mychart",
      '    version: "^0.2.0"',
      `    repository: oci://${host}/charts`,
      "",
    ].join("\n"),
    "flux/source.yaml": [
      "apiVersion: source.toolkit.fluxcd.io/v1",
      "kind: OCIRepository",
      "metadata:",
      "  name: bundle",
      "spec:",
      "  interval: 5m",
      `  url: oci://${host}/team/bundle`,
      "  ref:",
      "    tag: v1 # moves on release",
      "",
    ].join("\n"),
    "config.json": `{\n  "artifacts": [\n    { "image": "${host}/team/bundle:v1" }\n  ]\n}\n`,
    "infra/main.tf": [
      "# Orchestrator module (seed 000)",
      'module "net" {',
      `  source = "oci://${host}/modules/net?tag=1.0.0" // OpenTofu module`,
      "}",
      "",
      'resource "platform-orchestrator_module" "my_other_module" {',
      "  dependencies = {",
      "    my-workload = {",
      '      type   = "my-workload-type"',
      "      params = {",
      `        image = "${host}/$\${context.project_id}/api:$\${context.env_id}"`,
      '        name  = "${var.name}-api" /* a Terraform template: not a reference */',
      "      }",
      "    }",
      "  }",
      "}",
      "",
    ].join("\n"),
    "infra/settings.hcl": [
      "// settings for the deploy tool",
      "bundle {",
      `  artifact = "oci://${host}/team/bundle:v1" # the bundle`,
      "}",
      "",
    ].join("\n"),
  };
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), text);
  }
}

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

describe("finding references with file positions", () => {
  test("YAML, JSON, HCL and .tf, with context placeholders and Terraform's $${ escape", () => {
    const files = fixtures("reg.example.com");
    const brief = (found: ReturnType<typeof scanYaml>) =>
      found.map((f) => [f.line, f.column, f.path, f.reference, f.range ?? null]);
    assert.deepEqual(brief(scanYaml(files["k8s/deployment.yaml"]!, "d.yaml")), [
      [
        11,
        18,
        "[0].spec.template.spec.containers[0].image",
        "reg.example.com/${context.project_id}/api:v1",
        null,
      ],
      [13, 19, "[0].spec.template.spec.containers[1].image", "reg.example.com/team/bundle:v1", null],
    ]);
    assert.deepEqual(brief(scanYaml(files["chart/Chart.yaml"]!, "Chart.yaml")), [
      [8, 23, "dependencies[0].repository", "reg.example.com/charts/mychart", "^0.2.0"],
    ]);
    assert.deepEqual(brief(scanYaml(files["flux/source.yaml"]!, "s.yaml")), [
      [7, 14, "spec.url", "reg.example.com/team/bundle:v1", null],
    ]);
    assert.deepEqual(brief(scanYaml(files["config.json"]!, "c.json")), [
      [3, 17, "artifacts[0].image", "reg.example.com/team/bundle:v1", null],
    ]);
    assert.deepEqual(brief(scanHcl(files["infra/main.tf"]!, "main.tf")), [
      [3, 19, "module.net.source", "reg.example.com/modules/net:1.0.0", null],
      [
        11,
        18,
        "resource.platform-orchestrator_module.my_other_module.dependencies.my-workload.params.image",
        "reg.example.com/${context.project_id}/api:${context.env_id}",
        null,
      ],
    ]);
    assert.deepEqual(brief(scanHcl(files["infra/settings.hcl"]!, "s.hcl")), [
      [3, 21, "bundle.artifact", "reg.example.com/team/bundle:v1", null],
    ]);
    // Heredocs, comments and Terraform templates hold no references; helm_release blocks do.
    const more = [
      "/* oci://reg.example.com/commented:v1 */",
      'locals { x = <<EOT\n  "reg.example.com/heredoc:v1"\nEOT\n}',
      'resource "helm_release" "web" {',
      '  repository = "oci://reg.example.com/charts"',
      '  chart      = "web"',
      '  version    = "1.2.3+build.4"',
      "}",
      'module "sub" { source = "oci://reg.example.com/modules/all//net?digest=sha256:' +
        "a".repeat(64) +
        '" }',
    ].join("\n");
    assert.deepEqual(brief(scanHcl(more, "more.tf")), [
      [7, 23, "resource.helm_release.web.repository", "reg.example.com/charts/web:1.2.3_build.4", null],
      [11, 32, "module.sub.source", `reg.example.com/modules/all@sha256:${"a".repeat(64)}`, null],
    ]);
    assert.throws(() => scanHcl('x = "unclosed\n', "bad.hcl"), /bad\.hcl:1: not valid HCL: unclosed string/);
    assert.throws(() => scanYaml("a: [unclosed\n", "bad.yaml"), /bad\.yaml:\d+: not valid YAML/);
  });

  test("an unescaped ${context.KEY} in an HCL reference is an error naming file and line; other templates are skipped", () => {
    // Terraform would evaluate these itself: skipped, the reference would silently go unlocked.
    const cases: [string, number, string, string][] = [
      ['image = "reg.example.com/${context.project_id}/api:v1"', 2, "${context.project_id}", "project_id"],
      [
        'module "m" {\n  source = "oci://reg.example.com/modules/${ context.env_id }?tag=1.0.0"\n}',
        3,
        "${ context.env_id }",
        "env_id",
      ],
      ['x = {\n  y = "${context.host}/team/bundle:v1"\n}', 3, "${context.host}", "host"],
      [
        'resource "helm_release" "web" {\n  repository = "oci://reg.example.com/charts"\n  chart = "web"\n  version = "${context.chart_version}"\n}',
        5,
        "${context.chart_version}",
        "chart_version",
      ],
    ];
    for (const [text, line, placeholder, key] of cases) {
      assert.throws(
        () => scanHcl(`# deploy\n${text}\n`, "infra/main.tf"),
        (err: Error) => {
          assert.ok(err.message.startsWith(`infra/main.tf:${line}: ${placeholder} in "`), err.message);
          assert.ok(
            err.message.endsWith(`write the deploy tool's placeholder as $\${context.${key}}`),
            err.message,
          );
          return true;
        },
      );
    }
    // Other templates, escaped placeholders next to a template, and non-references with a placeholder
    // are skipped as before; a templated chart version does not lock `latest`.
    assert.deepEqual(
      scanHcl(
        [
          'image = "${var.registry}/api:v1"',
          'url   = "${var.host}/$${context.project_id}/api:v1"',
          'name  = "${context.project_id}-api"',
          'resource "helm_release" "web" {',
          '  repository = "oci://reg.example.com/charts"',
          '  chart      = "web"',
          '  version    = "${var.chart_version}"',
          "}",
          "",
        ].join("\n"),
        "ok.tf",
      ),
      [],
    );
  });
});

describe("wharf lock against Wharf", () => {
  let server: TestServer;
  let cli: CliHome;
  const digests: Record<string, string> = {};
  let work: string;

  before(async () => {
    server = await startWharf();
    cli = await cliHome();
    const push = async (ref: string, name: string, text: string) => {
      await writeFile(join(cli.dir, name), text);
      const pushed = await cli.run(["push", `${server.host}/${ref}`, join(cli.dir, name)]);
      assert.equal(pushed.code, 0, pushed.stderr);
      digests[ref] = pushed.stdout.trim();
    };
    await push("shop/api:v1", "api.yaml", "kind: Api\n");
    await push("shop/api:prod", "api-prod.yaml", "kind: Api\nenv: prod\n");
    await push("team/bundle:v1", "bundle.yaml", "kind: Bundle\n");
    await push("modules/net:1.0.0", "net.tf", "# net\n");
    for (const version of ["0.1.0", "0.2.0+build.1"]) {
      const chart = join(cli.dir, `mychart-${version}.tgz`);
      await writeFile(
        chart,
        rawTar([
          { name: "mychart/Chart.yaml", data: `apiVersion: v2\nname: mychart\nversion: ${version}\n` },
        ]),
      );
      const pushed = await cli.run(["push", `${server.host}/charts/mychart`, chart]);
      assert.equal(pushed.code, 0, pushed.stderr);
      digests[`charts/mychart:${version.replace("+", "_")}`] = pushed.stdout.trim().split(/\s+/)[0]!;
    }
  });
  after(async () => {
    await server.stop();
    await cli.cleanup();
  });

  const fresh = async (name: string) => {
    work = join(cli.dir, name);
    await writeTree(join(work, "deploy"), fixtures(server.host));
    return work;
  };

  test("locks every reference of a directory, placeholders from --context, in a deterministic lock file", async () => {
    const cwd = await fresh("lock");
    const result = await cli.run(
      ["lock", "deploy", "--context", "project_id=shop", "--context", "env_id=prod"],
      { cwd },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /8 reference\(s\) in 6 file\(s\) locked in wharf\.lock/);
    const text = await readFile(join(cwd, "wharf.lock"), "utf8");
    const lock = JSON.parse(text) as LockFile;
    assert.equal(lock.version, 1);
    assert.deepEqual(lock.paths, ["deploy"]);
    assert.deepEqual(Object.entries(lock.context), [
      ["env_id", "prod"],
      ["project_id", "shop"],
    ]);
    const h = server.host;
    assert.deepEqual(
      lock.references.map((e) => [e.file, e.line, e.reference, e.range ?? null, e.resolved, e.digest]),
      [
        [
          "deploy/chart/Chart.yaml",
          8,
          `${h}/charts/mychart`,
          "^0.2.0",
          `${h}/charts/mychart:0.2.0_build.1@${digests["charts/mychart:0.2.0_build.1"]}`,
          digests["charts/mychart:0.2.0_build.1"],
        ],
        [
          "deploy/config.json",
          3,
          `${h}/team/bundle:v1`,
          null,
          `${h}/team/bundle:v1@${digests["team/bundle:v1"]}`,
          digests["team/bundle:v1"],
        ],
        [
          "deploy/flux/source.yaml",
          7,
          `${h}/team/bundle:v1`,
          null,
          `${h}/team/bundle:v1@${digests["team/bundle:v1"]}`,
          digests["team/bundle:v1"],
        ],
        [
          "deploy/infra/main.tf",
          3,
          `${h}/modules/net:1.0.0`,
          null,
          `${h}/modules/net:1.0.0@${digests["modules/net:1.0.0"]}`,
          digests["modules/net:1.0.0"],
        ],
        [
          "deploy/infra/main.tf",
          11,
          `${h}/\${context.project_id}/api:\${context.env_id}`,
          null,
          `${h}/shop/api:prod@${digests["shop/api:prod"]}`,
          digests["shop/api:prod"],
        ],
        [
          "deploy/infra/settings.hcl",
          3,
          `${h}/team/bundle:v1`,
          null,
          `${h}/team/bundle:v1@${digests["team/bundle:v1"]}`,
          digests["team/bundle:v1"],
        ],
        [
          "deploy/k8s/deployment.yaml",
          11,
          `${h}/\${context.project_id}/api:v1`,
          null,
          `${h}/shop/api:v1@${digests["shop/api:v1"]}`,
          digests["shop/api:v1"],
        ],
        [
          "deploy/k8s/deployment.yaml",
          13,
          `${h}/team/bundle:v1`,
          null,
          `${h}/team/bundle:v1@${digests["team/bundle:v1"]}`,
          digests["team/bundle:v1"],
        ],
      ],
    );
    assert.equal(lock.references[0]!.kind, "helm-chart");
    for (const e of lock.references) assert.match(e.resolvedAt, /^\d{4}-\d\d-\d\dT/);

    // Locking again changes nothing, resolvedAt included; the check passes.
    const again = await cli.run(
      ["lock", "deploy", "--context", "project_id=shop", "--context", "env_id=prod"],
      { cwd },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.equal(await readFile(join(cwd, "wharf.lock"), "utf8"), text);
    const check = await cli.run(["lock", "--check"], { cwd });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /8 reference\(s\) match wharf\.lock/);
  });

  test("a lock file among the files is not scanned; Flux's semverFilter goes with its range; a symlinked file is pinned through the link", async () => {
    const cwd = join(cli.dir, "inside");
    const h = server.host;
    const tagged: Record<string, string> = {};
    for (const tag of ["1.0.0", "1.1.0", "2.0.0"]) {
      await writeFile(join(cli.dir, "filtered.yaml"), `version: ${tag}\n`);
      const pushed = await cli.run(["push", `${h}/team/filtered:${tag}`, join(cli.dir, "filtered.yaml")]);
      assert.equal(pushed.code, 0, pushed.stderr);
      tagged[tag] = pushed.stdout.trim();
    }
    const source = [
      "kind: OCIRepository",
      "spec:",
      `  url: oci://${h}/team/filtered`,
      "  ref:",
      '    semver: ">=1.0.0"',
      "    semverFilter: '^1\\.0'",
      "",
    ].join("\n");
    await writeTree(cwd, { "deploy/source.yaml": source });
    for (let run = 0; run < 2; run++) {
      const result = await cli.run(["lock", "deploy", "-o", "deploy/lock.json"], { cwd });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /1 reference\(s\) in 1 file\(s\) locked in deploy\/lock\.json/);
    }
    const lock = JSON.parse(await readFile(join(cwd, "deploy", "lock.json"), "utf8")) as LockFile;
    assert.deepEqual(lock.paths, ["."]);
    assert.equal(lock.references[0]!.file, "source.yaml");
    assert.equal(lock.references[0]!.range, ">=1.0.0");
    assert.equal(lock.references[0]!.semverFilter, "^1\\.0");
    // The range alone would choose 2.0.0; the filter leaves only 1.0.0.
    assert.equal(lock.references[0]!.resolved, `${h}/team/filtered:1.0.0@${tagged["1.0.0"]}`);

    // --write through a symbolic link replaces the file it points at, mode kept, and leaves the link.
    await writeTree(cwd, { "real/values.yaml": `image: ${h}/team/bundle:v1 # keep\n` });
    await chmod(join(cwd, "real", "values.yaml"), 0o640);
    await mkdir(join(cwd, "linked"));
    await symlink(join(cwd, "real", "values.yaml"), join(cwd, "linked", "values.yaml"));
    const pinned = await cli.run(["lock", "--write", "linked/values.yaml", "-o", "linked.lock"], { cwd });
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.equal(
      await readFile(join(cwd, "real", "values.yaml"), "utf8"),
      `image: ${h}/team/bundle:v1@${digests["team/bundle:v1"]} # keep\n`,
    );
    assert.ok((await lstat(join(cwd, "linked", "values.yaml"))).isSymbolicLink());
    assert.equal((await stat(join(cwd, "real", "values.yaml"))).mode & 0o777, 0o640);
  });

  test("a placeholder without --context, an unknown reference and a bad file are errors naming file and line; no lock is written", async () => {
    const cwd = await fresh("errors");
    const missingKey = await cli.run(["lock", "deploy"], { cwd });
    assert.equal(missingKey.code, 2, missingKey.stderr);
    assert.match(
      missingKey.stderr,
      /deploy\/infra\/main\.tf:11: \$\{context\.project_id\} has no value: pass --context project_id=VALUE/,
    );
    assert.match(
      missingKey.stderr,
      /deploy\/k8s\/deployment\.yaml:11: \$\{context\.project_id\} has no value/,
    );
    assert.match(missingKey.stderr, /wharf\.lock not written/);
    assert.equal(await exists(join(cwd, "wharf.lock")), false);
    const oneKey = await cli.run(["lock", "deploy", "--context", "project_id=shop"], { cwd });
    assert.equal(oneKey.code, 2, oneKey.stderr);
    assert.match(
      oneKey.stderr,
      /deploy\/infra\/main\.tf:11: \$\{context\.env_id\} has no value: pass --context env_id=VALUE/,
    );
    assert.doesNotMatch(oneKey.stderr, /deployment\.yaml/, "only the references missing a value fail");
    assert.equal(await exists(join(cwd, "wharf.lock")), false);

    await writeFile(
      join(cwd, "deploy", "extra.yaml"),
      `# one more\nimages:\n  - ${server.host}/team/missing:v9\n`,
    );
    const unknown = await cli.run(
      ["lock", "deploy", "--context", "project_id=shop", "--context", "env_id=prod"],
      { cwd },
    );
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.match(unknown.stderr, /deploy\/extra\.yaml:3: .*team\/missing:v9: .*not found/);
    assert.equal(await exists(join(cwd, "wharf.lock")), false);

    const wrongKey = await cli.run(["lock", "deploy/k8s", "--context", "project_id=nosuch"], { cwd });
    assert.equal(wrongKey.code, 3, wrongKey.stderr);
    assert.match(
      wrongKey.stderr,
      /deploy\/k8s\/deployment\.yaml:11: .*\$\{context\.project_id\}\/api:v1: .*not found/,
    );

    await writeFile(join(cwd, "deploy", "extra.yaml"), "a: [unclosed\n");
    const bad = await cli.run(
      ["lock", "deploy", "--context", "project_id=shop", "--context", "env_id=prod"],
      { cwd },
    );
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /deploy\/extra\.yaml:\d+: not valid YAML or JSON/);

    await writeFile(join(cwd, "deploy", "extra.yaml"), "replicas: 2\n");
    const other = await cli.run(["lock", "deploy/extra.yaml"], { cwd });
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /no OCI references found/);
    const badContext = await cli.run(["lock", "deploy", "--context", "project_id"], { cwd });
    assert.equal(badContext.code, 2, badContext.stderr);
    assert.match(badContext.stderr, /--context project_id: expected KEY=VALUE/);
    const notScanned = await cli.run(["lock", "deploy/../wharf.txt"], { cwd });
    assert.equal(notScanned.code, 2, notScanned.stderr);
    assert.equal(await exists(join(cwd, "wharf.lock")), false);
  });

  test("--write pins the references in place, keeping comments and formatting; again, it changes nothing", async () => {
    const cwd = await fresh("write");
    const result = await cli.run(
      ["lock", "--write", "deploy", "--context", "project_id=shop", "--context", "env_id=prod"],
      { cwd },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /deployment\.yaml:11: .* left as written: it has context placeholders/);
    const h = server.host;
    const bundle = `${h}/team/bundle:v1@${digests["team/bundle:v1"]}`;
    const expected = fixtures(h);
    expected["k8s/deployment.yaml"] = expected["k8s/deployment.yaml"]!.replace(
      `"${h}/team/bundle:v1"`,
      `"${bundle}"`,
    );
    expected["chart/Chart.yaml"] = expected["chart/Chart.yaml"]!.replace('"^0.2.0"', '"0.2.0+build.1"');
    expected["flux/source.yaml"] = expected["flux/source.yaml"]!.replace(
      "    tag: v1 # moves on release",
      `    tag: v1 # moves on release\n    digest: ${digests["team/bundle:v1"]}`,
    );
    expected["config.json"] = expected["config.json"]!.replace(`${h}/team/bundle:v1`, bundle);
    expected["infra/main.tf"] = expected["infra/main.tf"]!.replace(
      "?tag=1.0.0",
      `?digest=${digests["modules/net:1.0.0"]}`,
    );
    expected["infra/settings.hcl"] = expected["infra/settings.hcl"]!.replace(`${h}/team/bundle:v1`, bundle);
    for (const [name, text] of Object.entries(expected))
      assert.equal(await readFile(join(cwd, "deploy", name), "utf8"), text, name);

    const lock = await readFile(join(cwd, "wharf.lock"), "utf8");
    assert.ok(lock.includes(`"reference": "${bundle}"`), "the lock has what the files now say");
    const again = await cli.run(
      ["lock", "--write", "deploy", "--context", "project_id=shop", "--context", "env_id=prod"],
      { cwd },
    );
    assert.equal(again.code, 0, again.stderr);
    for (const [name, text] of Object.entries(expected))
      assert.equal(await readFile(join(cwd, "deploy", name), "utf8"), text, `${name}, twice`);
    assert.equal(await readFile(join(cwd, "wharf.lock"), "utf8"), lock);
    const check = await cli.run(["lock", "--check"], { cwd });
    assert.equal(check.code, 0, check.stderr);
  });

  test("--check of some files of a locked directory checks only those: the others are not removed", async () => {
    const cwd = await fresh("subset");
    const context = ["--context", "project_id=shop", "--context", "env_id=prod"];
    const locked = await cli.run(["lock", "deploy", ...context], { cwd });
    assert.equal(locked.code, 0, locked.stderr);

    const one = await cli.run(["lock", "--check", "deploy/config.json"], { cwd });
    assert.equal(one.code, 0, `${one.stdout}${one.stderr}`);
    assert.equal(one.stdout, "");
    assert.match(one.stderr, /1 reference\(s\) match wharf\.lock/);
    const some = await cli.run(["lock", "--check", "deploy/k8s", "deploy/infra/main.tf"], { cwd });
    assert.equal(some.code, 0, `${some.stdout}${some.stderr}`);
    assert.match(some.stderr, /4 reference\(s\) match wharf\.lock/);

    // A reference gone from the file checked is still removed; the other files' entries still are not.
    await writeFile(
      join(cwd, "deploy", "infra", "settings.hcl"),
      "// settings for the deploy tool\nbundle {}\n",
    );
    const gone = await cli.run(["lock", "--check", "deploy/infra/settings.hcl", "deploy/config.json"], {
      cwd,
    });
    assert.equal(gone.code, 9, gone.stderr);
    assert.deepEqual(gone.stdout.trim().split("\n"), [
      `removed: deploy/infra/settings.hcl:3: ${server.host}/team/bundle:v1 is in the lock but no longer in the file`,
    ]);
    // Without paths, the lock's own paths: every entry is in scope.
    const all = await cli.run(["lock", "--check"], { cwd });
    assert.equal(all.code, 9, all.stderr);
    assert.equal(all.stdout.trim().split("\n").length, 1, all.stdout);
  });

  test("--write refuses a file that links outside the paths given, and then writes nothing", async () => {
    const cwd = join(cli.dir, "refuse");
    const h = server.host;
    const values = `# values\nimage: ${h}/team/bundle:v1\n`;
    const outside = `image: ${h}/team/bundle:v1 # a file of the CI user, outside the checkout\n`;
    await writeTree(cwd, { "deploy/values.yaml": values, "elsewhere/target.yaml": outside });
    // Linked within the tree: allowed, and pinned through the link.
    await writeTree(cwd, { "deploy/sub/real.yaml": values });
    await symlink(join(cwd, "deploy", "sub", "real.yaml"), join(cwd, "deploy", "alias.yaml"));
    await symlink(join(cwd, "elsewhere", "target.yaml"), join(cwd, "deploy", "x.yaml"));

    const escaped = await cli.run(["lock", "--write", "deploy"], { cwd });
    assert.equal(escaped.code, 6, escaped.stderr);
    assert.match(
      escaped.stderr,
      /deploy\/x\.yaml: not rewritten: it links to .*elsewhere\/target\.yaml, outside deploy; --write only writes files under the paths given/,
    );
    assert.match(escaped.stderr, /no file rewritten, wharf\.lock not written/);
    assert.equal(await readFile(join(cwd, "elsewhere", "target.yaml"), "utf8"), outside);
    assert.equal(await readFile(join(cwd, "deploy", "values.yaml"), "utf8"), values, "nothing written");
    assert.equal(await readFile(join(cwd, "deploy", "sub", "real.yaml"), "utf8"), values);
    assert.equal(await exists(join(cwd, "wharf.lock")), false);
    // Locking without --write only reads the file: allowed.
    const read = await cli.run(["lock", "deploy", "-o", "read.lock"], { cwd });
    assert.equal(read.code, 0, read.stderr);
    // Naming the link's target as a path too puts it within the paths given.
    const named = await cli.run(["lock", "--write", "deploy", "elsewhere", "-o", "named.lock"], { cwd });
    assert.equal(named.code, 0, named.stderr);
    assert.equal(
      await readFile(join(cwd, "elsewhere", "target.yaml"), "utf8"),
      outside.replace("bundle:v1", `bundle:v1@${digests["team/bundle:v1"]}`),
    );
    assert.equal(
      await readFile(join(cwd, "deploy", "sub", "real.yaml"), "utf8"),
      values.replace("bundle:v1", `bundle:v1@${digests["team/bundle:v1"]}`),
    );
  });

  test("--write refuses a file that is not UTF-8, keeping every byte, and then writes nothing", async () => {
    const cwd = join(cli.dir, "latin1");
    const h = server.host;
    const values = `# values\nimage: ${h}/team/bundle:v1\n`;
    await writeTree(cwd, { "deploy/values.yaml": values });
    // A Latin-1 comment: the text read has U+FFFD for that byte, so writing it back would change it.
    const latin1 = Buffer.concat([
      Buffer.from("# caf"),
      Buffer.from([0xe9]),
      Buffer.from(` (Latin-1)\nimage: ${h}/team/bundle:v1\n`),
    ]);
    await writeFile(join(cwd, "deploy", "latin1.yaml"), latin1);
    const lossy = await cli.run(["lock", "--write", "deploy", "-o", "lossy.lock"], { cwd });
    assert.equal(lossy.code, 2, lossy.stderr);
    assert.match(lossy.stderr, /deploy\/latin1\.yaml:1: not rewritten: the file is not UTF-8/);
    assert.deepEqual(await readFile(join(cwd, "deploy", "latin1.yaml")), latin1, "every byte kept");
    assert.equal(await readFile(join(cwd, "deploy", "values.yaml"), "utf8"), values, "nothing written");
    assert.equal(await exists(join(cwd, "lossy.lock")), false);
    const lockOnly = await cli.run(["lock", "deploy", "-o", "lossy.lock"], { cwd });
    assert.equal(lockOnly.code, 0, lockOnly.stderr);
    assert.match(lockOnly.stderr, /2 reference\(s\) in 2 file\(s\) locked/);
  });

  test("an unescaped ${context.KEY} in a .tf reference fails the lock, naming file and line", async () => {
    const cwd = join(cli.dir, "unescaped");
    await writeTree(cwd, {
      "deploy/values.yaml": `image: ${server.host}/team/bundle:v1\n`,
      "deploy/main.tf": `# app\nimage = "${server.host}/\${context.project_id}/api:v1"\n`,
    });
    const result = await cli.run(["lock", "deploy", "--context", "project_id=shop"], { cwd });
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /deploy\/main\.tf:2: \$\{context\.project_id\} in ".*" is not escaped: .* as \$\$\{context\.project_id\}/,
    );
    assert.equal(await exists(join(cwd, "wharf.lock")), false);
  });
});

describe("wharf lock --check and pull -f --locked on Distribution 2.8.2 (no immutability)", () => {
  let registry: Distribution;
  let cli: CliHome;
  before(async () => {
    registry = await startDistribution();
    cli = await cliHome();
  });
  after(async () => {
    await registry.stop();
    await cli.cleanup();
  });

  const push = async (ref: string, text: string): Promise<string> => {
    await writeFile(join(cli.dir, "bundle.yaml"), text);
    const pushed = await cli.run(["push", `${registry.host}/${ref}`, join(cli.dir, "bundle.yaml")]);
    assert.equal(pushed.code, 0, pushed.stderr);
    return pushed.stdout.trim();
  };

  test("a moved tag, a vanished one and an added or removed reference are drift (exit 9); a locked pull gets the locked digest", async () => {
    const h = registry.host;
    const first = await push("team/bundle:v1", "kind: Bundle\nrelease: 1\n");
    const gone = await push("team/gone:v1", "kind: Gone\n");
    const cwd = join(cli.dir, "drift");
    const file = join(cwd, "deploy", "values.yaml");
    const values = `# values\nbundle:\n  image: ${h}/team/bundle:v1\nold: oci://${h}/team/gone:v1\n`;
    await writeTree(cwd, { "deploy/values.yaml": values });
    const locked = await cli.run(["lock", "deploy", "-o", "locks/prod.lock"], { cwd });
    assert.equal(locked.code, 0, locked.stderr);
    const lock = JSON.parse(await readFile(join(cwd, "locks", "prod.lock"), "utf8")) as LockFile;
    assert.deepEqual(lock.paths, ["../deploy"]);
    assert.deepEqual(
      lock.references.map((e) => [e.file, e.digest]),
      [
        ["../deploy/values.yaml", first],
        ["../deploy/values.yaml", gone],
      ],
    );

    // The tag moves (Distribution lets it) and the other one is deleted.
    const second = await push("team/bundle:v1", "kind: Bundle\nrelease: 2\n");
    assert.notEqual(second, first);
    const removed = await cli.run(["rm", `${h}/team/gone@${gone}`]);
    assert.equal(removed.code, 0, removed.stderr);

    const check = await cli.run(["lock", "--check", "-o", "locks/prod.lock"], { cwd });
    assert.equal(check.code, 9, check.stderr);
    assert.match(
      check.stdout,
      new RegExp(
        `moved: deploy/values.yaml:3: ${h}/team/bundle:v1 now resolves to ${h}/team/bundle:v1@${second}, locked ${first}`,
      ),
    );
    assert.match(
      check.stdout,
      /vanished: deploy\/values\.yaml:4: .*team\/gone:v1: .*not found \(locked sha256:/,
    );
    assert.match(check.stderr, /2 reference\(s\) drifted from locks\/prod\.lock/);
    const json = await cli.run(["lock", "--check", "-o", "locks/prod.lock", "--json"], { cwd });
    assert.equal(json.code, 9);
    const report = JSON.parse(json.stdout) as { ok: boolean; drift: { status: string; now?: string }[] };
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.drift.map((d) => d.status),
      ["moved", "vanished"],
    );

    // The locked pull gets release 1 even though v1 now holds release 2, into the directory of the tag.
    const out = join(cwd, "vendor");
    await writeFile(file, `# values\nbundle:\n  image: ${h}/team/bundle:v1\n`);
    const pulled = await cli.run(
      ["pull", "-f", "deploy/values.yaml", "--locked", "--lock", "locks/prod.lock", "-o", out],
      { cwd },
    );
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(
      await readFile(join(out, h, "team", "bundle", "v1", "bundle.yaml"), "utf8"),
      "kind: Bundle\nrelease: 1\n",
    );
    const unlocked = await cli.run(["pull", "-f", "deploy/values.yaml", "-o", join(cwd, "latest")], { cwd });
    assert.equal(unlocked.code, 0, unlocked.stderr);
    assert.equal(
      await readFile(join(cwd, "latest", h, "team", "bundle", "v1", "bundle.yaml"), "utf8"),
      "kind: Bundle\nrelease: 2\n",
    );

    // The file lost one reference and gains another: both are drift; a locked pull refuses, pulling nothing.
    await writeFile(file, `# values\nbundle:\n  image: ${h}/team/bundle:v1\nnew: ${h}/team/new:v1\n`);
    const changed = await cli.run(["lock", "--check", "-o", "locks/prod.lock"], { cwd });
    assert.equal(changed.code, 9, changed.stderr);
    assert.match(
      changed.stdout,
      new RegExp(`added: deploy/values\\.yaml:4: ${h}/team/new:v1 is not in the lock`),
    );
    assert.match(
      changed.stdout,
      new RegExp(
        `removed: deploy/values\\.yaml:4: ${h}/team/gone:v1 is in the lock but no longer in the file`,
      ),
    );
    await rm(out, { recursive: true });
    const refused = await cli.run(
      ["pull", "-f", "deploy/values.yaml", "--locked", "--lock", "locks/prod.lock", "-o", out],
      { cwd },
    );
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /1 reference\(s\) are not in locks\/prod\.lock: deploy\/values\.yaml:4 .*team\/new:v1/,
    );
    await assert.rejects(readdir(out), { code: "ENOENT" }, "nothing pulled");

    // A file the lock names that is gone: its references are removed, not an error.
    await rm(file);
    const deleted = await cli.run(["lock", "--check", "-o", "locks/prod.lock"], { cwd });
    assert.equal(deleted.code, 9, deleted.stderr);
    assert.deepEqual(
      deleted.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(":")[0]),
      ["removed", "removed"],
    );

    // Re-locking takes the moves in; the check then passes.
    await writeFile(file, `# values\nbundle:\n  image: ${h}/team/bundle:v1\n`);
    const relock = await cli.run(["lock", "deploy", "-o", "locks/prod.lock"], { cwd });
    assert.equal(relock.code, 0, relock.stderr);
    const clean = await cli.run(["lock", "--check", "-o", "locks/prod.lock"], { cwd });
    assert.equal(clean.code, 0, clean.stderr);
  });
});
