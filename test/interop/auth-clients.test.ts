import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { podmanEnv, run, type PodmanEnv, type RunResult } from "../helpers/clients.js";
import { sha256, writeImageLayout, type WrittenImage } from "../helpers/oci-layout.js";
import { helm, packageChart, startDockerd, type Dockerd, type Result } from "./support.js";

/**
 * Real clients against an auth-enabled wharf serve: each logs in with a user made through the admin API
 * (or a robot token's secret) and pushes and pulls inside the namespace it was granted, and is refused
 * outside it.
 */

const ADMIN_PASSWORD = "admin-Interop-123";
const DEV_PASSWORD = "dev-Interop-456";
const OCI_ACCEPT =
  "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

function show(result: CliResult | RunResult | Result): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

describe("registry clients against an auth-enabled wharf serve", { timeout: 600_000 }, () => {
  let server: TestServer;
  let dir: string;
  let admin: CliHome;
  let image: WrittenImage;
  let layout: string;
  let robotSecret: string;
  let skopeoDev: PodmanEnv;
  let skopeoRobot: PodmanEnv;
  let podmanCfg: PodmanEnv;
  let daemon: Dockerd | undefined;
  let dockerUnavailable: string | undefined;

  const skopeo = (env: PodmanEnv, args: string[], allowFailure = false) =>
    run("skopeo", ["--policy", env.policy, ...args], { env: env.env, timeout: 120_000, allowFailure });
  const podman = (args: string[], opts: { allowFailure?: boolean; input?: string } = {}) =>
    run("podman", args, { env: podmanCfg.env, timeout: 120_000, ...opts });

  /** The manifest's digest as the registry serves it to the administrator, or the HTTP status. */
  async function manifestDigest(repo: string, tag: string): Promise<string | number> {
    const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, {
      headers: { authorization: basic("admin", ADMIN_PASSWORD), accept: OCI_ACCEPT },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return res.status;
    assert.equal(res.headers.get("docker-content-digest"), sha256(bytes));
    return sha256(bytes);
  }

  async function api(method: string, path: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: basic("admin", ADMIN_PASSWORD), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, `${method} ${path}`);
    return res.json();
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-auth-clients-"));
    admin = await cliHome();
    const dataDir = join(dir, "data");
    await mkdir(dataDir);
    const boot = await admin.run(
      ["user", "add", "admin", "--admin", "--password-stdin", "--data-dir", dataDir],
      { input: ADMIN_PASSWORD },
    );
    assert.equal(boot.code, 0, show(boot));
    layout = join(dir, "layout");
    const [started, written, dev, robot, pod, docker] = await Promise.all([
      startWharf({ dataDir }),
      writeImageLayout(layout, { tag: "v1", files: { "hello.txt": "hello from an authenticated push\n" } }),
      podmanEnv(join(dir, "skopeo-dev")),
      podmanEnv(join(dir, "skopeo-ci")),
      podmanEnv(join(dir, "podman")),
      startDockerd(join(dir, "d")).catch((err: Error) => {
        dockerUnavailable = err.message;
        return undefined;
      }),
    ]);
    [server, image, skopeoDev, skopeoRobot, podmanCfg, daemon] = [started, written, dev, robot, pod, docker];

    // Accounts through the admin API: a user with pull and push on team-a/**, and a robot for CI.
    await api("POST", "/users", { name: "dev", password: DEV_PASSWORD });
    await api("POST", "/access", { subject: "user:dev", pattern: "team-a/**", actions: ["pull", "push"] });
    const created = (await api("POST", "/tokens", {
      name: "ci",
      repositories: ["team-a/**"],
      actions: ["pull", "push"],
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    })) as { secret: string };
    robotSecret = created.secret;
  });

  after(async () => {
    if (podmanCfg)
      await run("podman", ["rmi", "--all", "--force"], { env: podmanCfg.env, allowFailure: true });
    await daemon?.stop();
    await server?.stop();
    await admin?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("skopeo: anonymous copies are refused; after skopeo login a copy into team-a/ and back works", async () => {
    const src = `oci:${layout}:v1`;
    const dest = `docker://${server.host}/team-a/app:v1`;
    const anonymous = await skopeo(skopeoDev, ["copy", "--dest-tls-verify=false", src, dest], true);
    assert.notEqual(anonymous.code, 0, show(anonymous));
    assert.match(anonymous.stderr, /denied|unauthorized|authentication required/i);

    const wrong = await skopeo(
      skopeoDev,
      ["login", "--tls-verify=false", "-u", "dev", "--password-stdin", server.host],
      true,
    );
    assert.notEqual(wrong.code, 0, "an empty password must not log in");
    const login = await run(
      "skopeo",
      ["login", "--tls-verify=false", "-u", "dev", "--password-stdin", server.host],
      { env: skopeoDev.env, input: DEV_PASSWORD, timeout: 90_000 },
    );
    assert.match(login.stdout, /Login Succeeded/);
    const stored = JSON.parse(await readFile(skopeoDev.authFile, "utf8")) as {
      auths: Record<string, unknown>;
    };
    assert.ok(stored.auths[server.host], "skopeo stored the credentials in its private auth file");

    await skopeo(skopeoDev, ["copy", "--dest-tls-verify=false", src, dest]);
    assert.equal(await manifestDigest("team-a/app", "v1"), image.digest);

    const back = join(dir, "back");
    await skopeo(skopeoDev, ["copy", "--src-tls-verify=false", dest, `oci:${back}:v1`]);
    const index = JSON.parse(await readFile(join(back, "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    assert.equal(index.manifests[0]?.digest, image.digest);
    const layer = image.layers[0]?.digest ?? "";
    assert.equal(sha256(await readFile(join(back, "blobs", "sha256", layer.slice("sha256:".length)))), layer);

    const outside = await skopeo(
      skopeoDev,
      ["copy", "--dest-tls-verify=false", src, `docker://${server.host}/team-b/app:v1`],
      true,
    );
    assert.notEqual(outside.code, 0, show(outside));
    assert.match(outside.stderr, /denied|unauthorized|authentication required/i);
    assert.equal(await manifestDigest("team-b/app", "v1"), 404);
  });

  test("skopeo with a robot token's secret as the password: allowed inside its namespace only", async () => {
    const login = await run(
      "skopeo",
      ["login", "--tls-verify=false", "-u", "ci", "--password-stdin", server.host],
      { env: skopeoRobot.env, input: robotSecret, timeout: 90_000 },
    );
    assert.match(login.stdout, /Login Succeeded/);
    const src = `oci:${layout}:v1`;
    await skopeo(skopeoRobot, [
      "copy",
      "--dest-tls-verify=false",
      src,
      `docker://${server.host}/team-a/ci/app:v1`,
    ]);
    assert.equal(await manifestDigest("team-a/ci/app", "v1"), image.digest);
    const inspected = await skopeo(skopeoRobot, [
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${server.host}/team-a/app:v1`,
    ]);
    assert.equal(sha256(inspected.stdout), image.digest);

    const outside = await skopeo(
      skopeoRobot,
      ["copy", "--dest-tls-verify=false", src, `docker://${server.host}/team-b/ci:v1`],
      true,
    );
    assert.notEqual(outside.code, 0, show(outside));
    assert.match(outside.stderr, /denied|unauthorized|authentication required/i);
    assert.equal(await manifestDigest("team-b/ci", "v1"), 404);
    const readOutside = await skopeo(
      skopeoRobot,
      ["inspect", "--raw", "--tls-verify=false", `docker://${server.host}/team-b/app:v1`],
      true,
    );
    assert.notEqual(readOutside.code, 0, show(readOutside));

    // A wrong secret is refused.
    const bad = await run(
      "skopeo",
      ["login", "--tls-verify=false", "-u", "ci", "--password-stdin", server.host],
      { env: skopeoRobot.env, input: `${robotSecret}x`, timeout: 90_000, allowFailure: true },
    );
    assert.notEqual(bad.code, 0, show(bad));
  });

  test("podman: login, then pull and push inside team-a/; push outside is denied", async () => {
    const ref = `${server.host}/team-a/app:v1`;
    const anonymous = await podman(["pull", "--tls-verify=false", ref], { allowFailure: true });
    assert.notEqual(anonymous.code, 0, show(anonymous));

    const login = await podman(
      ["login", "--tls-verify=false", "-u", "dev", "--password-stdin", server.host],
      { input: DEV_PASSWORD },
    );
    assert.match(login.stdout, /Login Succeeded/);
    const stored = JSON.parse(await readFile(podmanCfg.authFile, "utf8")) as {
      auths: Record<string, unknown>;
    };
    assert.ok(stored.auths[server.host], "podman stored the credentials in REGISTRY_AUTH_FILE");

    await podman(["pull", "--tls-verify=false", ref]);
    const [info] = JSON.parse((await podman(["image", "inspect", ref])).stdout) as { Digest: string }[];
    assert.equal(info?.Digest, image.digest);

    await podman(["tag", ref, `${server.host}/team-a/podman:v1`]);
    await podman(["push", "--tls-verify=false", `${server.host}/team-a/podman:v1`]);
    assert.equal(typeof (await manifestDigest("team-a/podman", "v1")), "string");

    await podman(["tag", ref, `${server.host}/team-b/podman:v1`]);
    const outside = await podman(["push", "--tls-verify=false", `${server.host}/team-b/podman:v1`], {
      allowFailure: true,
    });
    assert.notEqual(outside.code, 0, show(outside));
    assert.match(outside.stderr, /denied|unauthorized|authentication required/i);
    assert.equal(await manifestDigest("team-b/podman", "v1"), 404);

    await podman(["logout", server.host]);
    await podman(["rmi", "--force", ref]);
    const afterLogout = await podman(["pull", "--tls-verify=false", ref], { allowFailure: true });
    assert.notEqual(afterLogout.code, 0, show(afterLogout));
  });

  test("helm: registry login, then push and pull a chart in team-a/", async () => {
    const helmDir = join(dir, "helm");
    const runHelm = helm(helmDir);
    const chart = await packageChart(runHelm, dir, "authdemo", "0.1.0");
    const chartBytes = await readFile(chart);

    const anonymous = await runHelm(["push", chart, `oci://${server.host}/team-a/charts`], {
      allowFailure: true,
    });
    assert.notEqual(anonymous.code, 0, show(anonymous));

    const badLogin = await runHelm(["registry", "login", server.host, "-u", "dev", "--password-stdin"], {
      input: "not-the-password",
      allowFailure: true,
    });
    assert.notEqual(badLogin.code, 0, show(badLogin));
    const login = await runHelm(["registry", "login", server.host, "-u", "dev", "--password-stdin"], {
      input: DEV_PASSWORD,
    });
    assert.match(login.stdout + login.stderr, /Login Succeeded/);
    const config = JSON.parse(await readFile(join(helmDir, "registry.json"), "utf8")) as {
      auths: Record<string, unknown>;
    };
    assert.ok(config.auths[server.host], "helm stored the credentials in HELM_REGISTRY_CONFIG");

    const pushed = await runHelm(["push", chart, `oci://${server.host}/team-a/charts`]);
    const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout + pushed.stderr)?.[1];
    assert.ok(digest, show(pushed));
    assert.equal(await manifestDigest("team-a/charts/authdemo", "0.1.0"), digest);

    const out = join(dir, "helm-out");
    await mkdir(out);
    await runHelm(["pull", `oci://${server.host}/team-a/charts/authdemo`, "--version", "0.1.0", "-d", out]);
    assert.deepEqual(await readFile(join(out, "authdemo-0.1.0.tgz")), chartBytes);

    const outside = await runHelm(["push", chart, `oci://${server.host}/team-b/charts`], {
      allowFailure: true,
    });
    assert.notEqual(outside.code, 0, show(outside));
    assert.equal(await manifestDigest("team-b/charts/authdemo", "0.1.0"), 404);
  });

  test("wharf: login, then push and pull in team-a/; push outside exits with code 4", async () => {
    const dev = await cliHome();
    try {
      await writeFile(join(dev.dir, "notes.txt"), "notes from dev\n");
      const wrong = await dev.run(["login", server.host, "-u", "dev", "--password-stdin"], {
        input: "not-the-password",
      });
      assert.equal(wrong.code, 4, show(wrong));
      const login = await dev.run(["login", server.host, "-u", "dev", "--password-stdin"], {
        input: DEV_PASSWORD,
      });
      assert.equal(login.code, 0, show(login));
      const pushed = await dev.run(["push", `${server.host}/team-a/notes:v1`, "notes.txt"]);
      assert.equal(pushed.code, 0, show(pushed));
      assert.equal(await manifestDigest("team-a/notes", "v1"), pushed.stdout.trim());
      const pulled = await dev.run(["pull", `${server.host}/team-a/notes:v1`, "-o", "out"]);
      assert.equal(pulled.code, 0, show(pulled));
      assert.equal(await readFile(join(dev.dir, "out", "notes.txt"), "utf8"), "notes from dev\n");
      const outside = await dev.run(["push", `${server.host}/team-b/notes:v1`, "notes.txt"]);
      assert.equal(outside.code, 4, show(outside));
      // The image skopeo pushed is readable by wharf too.
      const info = await dev.run(["info", `${server.host}/team-a/app:v1`, "--json"]);
      assert.equal(info.code, 0, show(info));
      assert.match(info.stdout, new RegExp(image.digest));
    } finally {
      await dev.cleanup();
    }
  });

  test("docker: login, then pull and push in team-a/; push outside is denied", async (t: TestContext) => {
    if (!daemon) {
      t.skip(`dockerd cannot run here: ${dockerUnavailable ?? "unknown"}`);
      return;
    }
    const docker = daemon.docker;
    const ref = `${server.host}/team-a/app:v1`;
    const anonymous = await docker(["pull", ref], { allowFailure: true });
    assert.notEqual(anonymous.code, 0, show(anonymous));
    const login = await docker(["login", server.host, "-u", "dev", "--password-stdin"], {
      input: DEV_PASSWORD,
    });
    assert.match(login.stdout, /Login Succeeded/);
    await docker(["pull", ref]);
    await docker(["tag", ref, `${server.host}/team-a/docker:v1`]);
    await docker(["push", `${server.host}/team-a/docker:v1`]);
    assert.equal(typeof (await manifestDigest("team-a/docker", "v1")), "string");
    await docker(["tag", ref, `${server.host}/team-b/docker:v1`]);
    const outside = await docker(["push", `${server.host}/team-b/docker:v1`], { allowFailure: true });
    assert.notEqual(outside.code, 0, show(outside));
    assert.equal(await manifestDigest("team-b/docker", "v1"), 404);
  });

  test("the audit log names each client's account", async () => {
    const res = await fetch(`${server.url}/api/v1/audit?action=manifest.push&limit=1000`, {
      headers: { authorization: basic("admin", ADMIN_PASSWORD) },
    });
    assert.equal(res.status, 200);
    const { events } = (await res.json()) as { events: { actor: string; repository: string }[] };
    const pushes = new Set(events.map((e) => `${e.actor} ${e.repository}`));
    const expectedPushes = ["dev team-a/app", "ci team-a/ci/app", "dev team-a/podman", "dev team-a/notes"];
    if (daemon) expectedPushes.push("dev team-a/docker");
    for (const expected of expectedPushes) {
      assert.ok(pushes.has(expected), `${expected} in ${[...pushes].join(", ")}`);
    }
    assert.ok(![...pushes].some((p) => p.includes("team-b/")), "nothing reached team-b/");
    assert.ok(!server.output().includes(DEV_PASSWORD) && !server.output().includes(robotSecret));
  });
});
