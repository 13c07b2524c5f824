import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname, "..", "..");
const bin = join(repoRoot, "bin", "wharf");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A private HOME, Docker config and cache for one test suite, so CLI runs touch nothing of the user's. */
export interface CliHome {
  dir: string;
  env: Record<string, string>;
  run(
    args: string[],
    options?: { input?: string; cwd?: string; env?: Record<string, string> },
  ): Promise<CliResult>;
  cleanup(): Promise<void>;
}

export async function cliHome(): Promise<CliHome> {
  const dir = await mkdtemp(join(tmpdir(), "wharf-cli-"));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(dir, "home"),
    DOCKER_CONFIG: join(dir, "docker"),
    XDG_CACHE_HOME: join(dir, "cache"),
    // Fail fast against registries that are gone on purpose.
    WHARF_RETRIES: "1",
    WHARF_RETRY_DELAY_MS: "10",
  };
  return {
    dir,
    env,
    run: (args, options = {}) =>
      runWharf(args, { ...env, ...options.env }, options.input, options.cwd ?? dir),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Runs `node bin/wharf ARGS` as a child process, stdin from `input` (or nothing). */
export function runWharf(
  args: string[],
  env: Record<string, string>,
  input?: string,
  cwd?: string,
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}
