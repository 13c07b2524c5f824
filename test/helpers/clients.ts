import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Milliseconds before the process (group) is killed; default 60 s. */
  timeout?: number;
  /** Resolve with the result instead of throwing when the exit code is not 0. */
  allowFailure?: boolean;
  input?: string;
}

/** Thrown by `run` when a command fails or times out; its message carries the command's output. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
  }
}

/**
 * Runs a CLI without a shell, capturing stdout and stderr. Throws a CommandError naming the command and
 * carrying its output when it exits non-zero (unless allowFailure) or does not finish within the timeout.
 */
export function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeout ?? 60_000;
  const shown = [command, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (d: string) => (stdout += d));
    child.stderr.on("data", (d: string) => (stderr += d));
    child.stdin.on("error", () => {}); // a client that exits without reading its input
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => {
      timedOut = true;
      // The whole process group: podman and buildah start helpers (conmon, runc) of their own.
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeout);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new CommandError(`${shown}: ${err.message}`, { code: -1, stdout, stderr }));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? -1, stdout, stderr };
      if (timedOut) {
        reject(new CommandError(`${shown}: timed out after ${timeout} ms\n${describe(result)}`, result));
      } else if (code !== 0 && !opts.allowFailure) {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(new CommandError(`${shown}: ${why}\n${describe(result)}`, result));
      } else {
        resolve(result);
      }
    });
  });
}

function describe(result: RunResult): string {
  return `--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

/** True when `command` can be started (e.g. `skopeo --version` exits 0). */
export async function available(command: string, args = ["--version"]): Promise<boolean> {
  try {
    await run(command, args, { timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}

export interface PodmanEnv {
  /** Environment for podman, buildah and skopeo: process.env plus the private configuration below. */
  env: NodeJS.ProcessEnv;
  /** Path of a signature policy that accepts anything (for `skopeo --policy`). */
  policy: string;
  /** Empty registry auth file, so that no global credentials are read or written. */
  authFile: string;
  graphroot: string;
  runroot: string;
}

/**
 * Writes containers.conf, storage.conf, registries.conf, policy.json and auth.json into `dir` and returns
 * the environment that makes podman, buildah and skopeo use them: images, containers, locks, events and
 * credentials all stay inside `dir`, never in the machine's global container state.
 *
 * One thing stays global: as root, containers/image keeps its blob-info cache (which compressed blob
 * matches which digest, and where it was last seen) in /var/lib/containers/cache, and skopeo has no flag
 * to move it. It is only a cache: clients still check with the registry before reusing a blob.
 *
 * The settings are those that work as root in a container without systemd or overlayfs: the vfs storage
 * driver, cgroupfs, a file events logger, runc, and explicit ulimits (the defaults exceed the sandbox's).
 */
export async function podmanEnv(dir: string): Promise<PodmanEnv> {
  const graphroot = join(dir, "storage");
  const runroot = join(dir, "run");
  const tmp = join(dir, "tmp");
  await Promise.all([graphroot, runroot, tmp].map((d) => mkdir(d, { recursive: true })));
  const containersConf = join(dir, "containers.conf");
  const storageConf = join(dir, "storage.conf");
  const registriesConf = join(dir, "registries.conf");
  const policy = join(dir, "policy.json");
  const authFile = join(dir, "auth.json");
  await Promise.all([
    writeFile(
      containersConf,
      [
        "[containers]",
        'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]',
        'netns = "none"',
        "",
        "[engine]",
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = ${JSON.stringify(join(tmp, "events.log"))}`,
        'runtime = "runc"',
        `tmp_dir = ${JSON.stringify(tmp)}`,
        `volume_path = ${JSON.stringify(join(graphroot, "volumes"))}`,
        `static_dir = ${JSON.stringify(join(graphroot, "libpod"))}`,
        "",
      ].join("\n"),
    ),
    writeFile(
      storageConf,
      [
        "[storage]",
        'driver = "vfs"',
        `graphroot = ${JSON.stringify(graphroot)}`,
        `runroot = ${JSON.stringify(runroot)}`,
        "",
      ].join("\n"),
    ),
    writeFile(registriesConf, 'unqualified-search-registries = []\nshort-name-mode = "permissive"\n'),
    writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] })),
    writeFile(authFile, JSON.stringify({ auths: {} })),
  ]);
  return {
    env: {
      ...process.env,
      CONTAINERS_CONF: containersConf,
      CONTAINERS_STORAGE_CONF: storageConf,
      CONTAINERS_REGISTRIES_CONF: registriesConf,
      REGISTRY_AUTH_FILE: authFile,
      // buildah reads its own variables for these.
      STORAGE_DRIVER: "vfs",
      BUILDAH_ISOLATION: "chroot",
      TMPDIR: tmp,
    },
    policy,
    authFile,
    graphroot,
    runroot,
  };
}
