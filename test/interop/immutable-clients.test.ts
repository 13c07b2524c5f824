import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { podmanEnv, run, type PodmanEnv, type RunResult } from "../helpers/clients.js";
import { writeImageLayout } from "../helpers/oci-layout.js";
import { helm, packageChart, startDockerd, type Dockerd, type Result } from "./support.js";

/**
 * What real clients print when the server refuses to move an immutable tag (issue 13): 403 DENIED with
 * a message naming the tag and the rule. Each client must show the message, exit non-zero, and not
 * retry the refused manifest in other formats (skopeo and podman do that on MANIFEST_INVALID and
 * similar codes): the server's request log counts the refused manifest PUTs.
 */

const ADMIN_PASSWORD = "admin-Immutable-123";
const DEV_PASSWORD = "dev-Immutable-456";

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

function show(result: CliResult | RunResult | Result): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe("what clients print when an immutable tag is not moved", { timeout: 600_000 }, () => {
  let server: TestServer;
  let dir: string;
  let admin: CliHome;
  let first: string;
  let second: string;
  let env: PodmanEnv;
  let daemon: Dockerd | undefined;
  let dockerUnavailable: string | undefined;

  const skopeo = (args: string[], allowFailure = false) =>
    run("skopeo", ["--policy", env.policy, ...args], { env: env.env, timeout: 120_000, allowFailure });
  const podman = (args: string[], opts: { allowFailure?: boolean; input?: string } = {}) =>
    run("podman", args, { env: env.env, timeout: 120_000, ...opts });

  /** Manifest PUTs to `repo` the server answered with `status`, from its request log. */
  /**
   * Refused manifest PUTs the server logged for `repo`. The request log line is written after the
   * response is sent, so it may arrive after the client exited: wait (bounded) for the first, then a
   * moment more for any retry, before counting.
   */
  async function refusedPuts(repo: string): Promise<number> {
    for (let i = 0; i < 50 && manifestPuts(repo, 403) === 0; i++) await sleep(100);
    await sleep(300);
    return manifestPuts(repo, 403);
  }

  function manifestPuts(repo: string, status: number): number {
    return server
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; method?: string; url?: string; status?: number })
      .filter(
        (l) =>
          l.msg === "request" &&
          l.method === "PUT" &&
          l.url?.startsWith(`/v2/${repo}/manifests/`) &&
          l.status === status,
      ).length;
  }

  async function api(method: string, path: string, body: unknown): Promise<void> {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: basic("admin", ADMIN_PASSWORD), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, `${method} ${path}: ${await res.text()}`);
  }

  /** The refusal as the server words it for `tag` under the default rule. */
  const refusal = (tag: string, rule = "semver", on = "**") =>
    `tag ${tag} is immutable (rule '${rule}' on '${on}'); push a new version instead`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-immutable-clients-"));
    admin = await cliHome();
    const dataDir = join(dir, "data");
    await mkdir(dataDir);
    const boot = await admin.run(
      ["user", "add", "admin", "--admin", "--password-stdin", "--data-dir", dataDir],
      { input: ADMIN_PASSWORD },
    );
    assert.equal(boot.code, 0, show(boot));
    first = join(dir, "first");
    second = join(dir, "second");
    // The request log (level info) is how the test counts the PUTs each client made.
    const [started, , , podmanConfig, docker] = await Promise.all([
      startWharf({ dataDir, env: { WHARF_LOG_LEVEL: "info" } }),
      writeImageLayout(first, { tag: "v1.0.0", files: { "a.txt": "the first build\n" } }),
      writeImageLayout(second, { tag: "v1.0.0", files: { "a.txt": "a different build\n" } }),
      podmanEnv(join(dir, "podman")),
      startDockerd(join(dir, "d")).catch((err: Error) => {
        dockerUnavailable = err.message;
        return undefined;
      }),
    ]);
    [server, env, daemon] = [started, podmanConfig, docker];
    await api("POST", "/users", { name: "dev", password: DEV_PASSWORD });
    await api("POST", "/access", { subject: "user:dev", pattern: "imm/**", actions: ["pull", "push"] });
    // For wharf, whose own client guard refuses to move a version tag before the server is asked.
    await api("POST", "/immutable", { name: "releases", repositories: "imm/**", tags: "release-*" });
    const login = await run(
      "skopeo",
      ["login", "--tls-verify=false", "-u", "dev", "--password-stdin", server.host],
      { env: env.env, input: DEV_PASSWORD, timeout: 90_000 },
    );
    assert.match(login.stdout, /Login Succeeded/);
  });

  after(async () => {
    if (env) await run("podman", ["rmi", "--all", "--force"], { env: env.env, allowFailure: true });
    await daemon?.stop();
    await server?.stop();
    await admin?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("skopeo copy: the identical copy succeeds; a different one prints the refusal once, no retries", async (t) => {
    const dest = `docker://${server.host}/imm/skopeo:v1.0.0`;
    await skopeo(["copy", "--dest-tls-verify=false", `oci:${first}:v1.0.0`, dest]);
    await skopeo(["copy", "--dest-tls-verify=false", `oci:${first}:v1.0.0`, dest]);
    const refused = await skopeo(["copy", "--dest-tls-verify=false", `oci:${second}:v1.0.0`, dest], true);
    assert.notEqual(refused.code, 0, show(refused));
    t.diagnostic(show(refused));
    assert.equal(occurrences(refused.stderr, refusal("v1.0.0")), 1, show(refused));
    assert.match(refused.stderr, /denied/);
    assert.equal(await refusedPuts("imm/skopeo"), 1, "one refused manifest PUT: no retry in other formats");
  });

  test("podman push: the refusal once, exit non-zero, no retries in other formats", async (t) => {
    // The first build under the tag (by skopeo, from its layout); then podman pushes another build.
    await skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${first}:v1.0.0`,
      `docker://${server.host}/imm/podman:v1.0.0`,
    ]);
    await skopeo([
      "copy",
      "--dest-tls-verify=false",
      `oci:${second}:v1.0.0`,
      `docker://${server.host}/imm/src:podman`,
    ]);
    const pulled = await podman(["pull", "--tls-verify=false", `${server.host}/imm/src:podman`]);
    const id = pulled.stdout.trim().split("\n").at(-1) ?? "";
    assert.match(id, /^[0-9a-f]{64}$/, show(pulled));
    const refused = await podman(
      ["push", "--tls-verify=false", id, `docker://${server.host}/imm/podman:v1.0.0`],
      { allowFailure: true },
    );
    assert.notEqual(refused.code, 0, show(refused));
    t.diagnostic(show(refused));
    assert.equal(occurrences(refused.stderr, refusal("v1.0.0")), 1, show(refused));
    assert.equal(await refusedPuts("imm/podman"), 1, "one refused manifest PUT: no retry in other formats");
  });

  test("docker push: the refusal once, exit non-zero", async (t: TestContext) => {
    if (!daemon) {
      t.skip(`dockerd cannot run here: ${dockerUnavailable ?? "unknown"}`);
      return;
    }
    const docker = daemon.docker;
    for (const [layout, tag] of [
      [first, "a"],
      [second, "b"],
    ] as const) {
      await skopeo([
        "copy",
        "--dest-tls-verify=false",
        `oci:${layout}:v1.0.0`,
        `docker://${server.host}/imm/src:${tag}`,
      ]);
    }
    const login = await docker(["login", server.host, "-u", "dev", "--password-stdin"], {
      input: DEV_PASSWORD,
    });
    assert.match(login.stdout, /Login Succeeded/);
    const target = `${server.host}/imm/docker:v1.0.0`;
    await docker(["pull", `${server.host}/imm/src:a`]);
    await docker(["tag", `${server.host}/imm/src:a`, target]);
    await docker(["push", target]);
    await docker(["pull", `${server.host}/imm/src:b`]);
    await docker(["tag", `${server.host}/imm/src:b`, target]);
    const refused = await docker(["push", target], { allowFailure: true });
    assert.notEqual(refused.code, 0, show(refused));
    t.diagnostic(show(refused));
    assert.equal(occurrences(refused.stdout + refused.stderr, refusal("v1.0.0")), 1, show(refused));
    assert.equal(await refusedPuts("imm/docker"), 1);
  });

  test("helm push: the refusal once (in the status line: helm prints no error bodies), exit non-zero", async (t) => {
    const runHelm = helm(join(dir, "helm"));
    const login = await runHelm(["registry", "login", server.host, "-u", "dev", "--password-stdin"], {
      input: DEV_PASSWORD,
    });
    assert.match(login.stdout + login.stderr, /Login Succeeded/);
    const one = await packageChart(runHelm, join(dir, "chart-1"), "immdemo", "0.1.0");
    await runHelm(["push", one, `oci://${server.host}/imm/charts`]);
    // The same version with other content (a chart rebuilt without bumping its version).
    const other = join(dir, "chart-2");
    await mkdir(other, { recursive: true });
    const two = await packageChart(runHelm, other, "immdemo", "0.1.0");
    await writeFile(join(other, "immdemo", "values.yaml"), "greeting: changed\n");
    await runHelm(["package", join(other, "immdemo"), "--destination", other]);
    const refused = await runHelm(["push", two, `oci://${server.host}/imm/charts`], { allowFailure: true });
    assert.notEqual(refused.code, 0, show(refused));
    t.diagnostic(show(refused));
    // Helm 3.10 (containerd's resolver underneath) prints the status line, never the error body: the
    // server puts the message in the status line's reason phrase.
    assert.equal(
      occurrences(refused.stderr, `unexpected status: 403 Forbidden: ${refusal("0.1.0")}`),
      1,
      show(refused),
    );
    assert.equal(await refusedPuts("imm/charts/immdemo"), 1);
  });

  test("wharf push: the refusal once, exit code 4", async (t) => {
    const dev = await cliHome();
    try {
      const login = await dev.run(["login", server.host, "-u", "dev", "--password-stdin"], {
        input: DEV_PASSWORD,
      });
      assert.equal(login.code, 0, show(login));
      await writeFile(join(dev.dir, "notes.txt"), "first\n");
      const pushed = await dev.run(["push", `${server.host}/imm/wharf:release-1`, "notes.txt"]);
      assert.equal(pushed.code, 0, show(pushed));
      const again = await dev.run(["push", `${server.host}/imm/wharf:release-1`, "notes.txt"]);
      assert.equal(again.code, 0, `the identical push again: ${show(again)}`);
      await writeFile(join(dev.dir, "notes.txt"), "second\n");
      const refused = await dev.run(["push", `${server.host}/imm/wharf:release-1`, "notes.txt"]);
      assert.equal(refused.code, 4, show(refused));
      t.diagnostic(show(refused));
      assert.equal(occurrences(refused.stderr, refusal("release-1", "releases", "imm/**")), 1, show(refused));
      assert.equal(await refusedPuts("imm/wharf"), 1);
    } finally {
      await dev.cleanup();
    }
  });
});
