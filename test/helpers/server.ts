import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { backendOf } from "./backends.js";

const repoRoot = resolve(import.meta.dirname, "..", "..");

export interface TestServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** host:port, e.g. 127.0.0.1:41234, for clients that take a registry host */
  host: string;
  dataDir: string;
  /** The backend environment it runs with (a database URL, a bucket prefix), to start a peer node. */
  backend: Record<string, string>;
  process: ChildProcess;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for exit; removes the data directory unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export interface StartOptions {
  /** Reuse an existing data directory (for restart tests). */
  dataDir?: string;
  /** Extra CLI arguments after `serve`. */
  args?: string[];
  env?: Record<string, string>;
  /**
   * The backends, as environment (see backends.ts): by default the run's WHARF_TEST_BACKEND with a
   * fresh database and prefix; pass the env of another server to share its database and bucket. With a
   * `dataDir`, the backend that data directory was first started with (see backendOf).
   */
  backend?: Record<string, string>;
}

/** Starts the built `bin/wharf serve` on a free loopback port and waits until it accepts requests. */
export async function startWharf(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "wharf-test-")));
  // A data directory keeps its backend across restarts; a fresh one gets a fresh backend.
  const backend = await backendOf(dataDir, opts.backend);
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "bin", "wharf"),
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--data-dir",
      dataDir,
      ...(opts.args ?? []),
    ],
    {
      // One process unless a test (or WHARF_TEST_WORKERS for a whole run) asks for workers.
      env: {
        ...process.env,
        WHARF_LOG_LEVEL: "warn",
        WHARF_WORKERS: process.env.WHARF_TEST_WORKERS ?? "1",
        ...backend,
        ...opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => (out += d));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`wharf did not start in 20s:\n${out}`)), 20_000);
    child.stdout.on("data", (d: string) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`wharf exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    host: new URL(url).host,
    dataDir,
    backend,
    process: child,
    output: () => out,
    async stop(stopOpts = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      if (!stopOpts.keepData && !opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
