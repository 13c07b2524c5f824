import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { startNginx } from "../../test/helpers/nginx.js";
import type { DistributionS3 } from "./backends.js";

/** A server under test, on loopback: one process, a supervisor and its workers, or nodes behind nginx. */
export interface Target {
  name: string;
  url: string;
  /** The processes whose trees are the target's memory (nginx in front of nodes is not counted). */
  pids: number[];
  dataDir: string;
  stop(): Promise<void>;
}

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DISTRIBUTION = "/usr/bin/docker-registry";

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

/** Spawns a server and waits until `probe` answers; stderr is kept for the error message. */
async function launch(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  url: string,
  probe: string,
  dataDir: string,
): Promise<Target> {
  const child: ChildProcess = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    output = (output + d).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited early:\n${output}`);
    try {
      const res = await fetch(url + probe);
      await res.arrayBuffer();
      if (res.status < 500) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not start in 30s:\n${output}`);
    }
    await sleep(100);
  }
  return {
    name,
    url,
    pids: [child.pid ?? 0],
    dataDir,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
      if (output.trim()) process.stderr.write(`[${name} stderr]\n${output.trim()}\n`);
    },
  };
}

export interface WharfOptions {
  name: string;
  dataDir: string;
  /** `wharf serve --workers`: 1 is one process (the README's rows), more is a supervisor and workers. */
  workers: number;
  /** Backend settings as environment (WHARF_METADATA_*, WHARF_S3_*, AWS_*); none: SQLite + files. */
  env?: Record<string, string>;
  /** Adds node --cpu-prof (every worker inherits it; each writes its own profile on exit). */
  cpuProfDir?: string;
}

/** Wharf from dist/, with info logs off and an explicit worker count (the default is one per CPU). */
export async function startWharf(options: WharfOptions): Promise<Target> {
  const { name, dataDir, workers, cpuProfDir } = options;
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const prof = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  const args = [...prof, join(ROOT, "bin/wharf"), "serve", "--listen", `127.0.0.1:${port}`];
  args.push("--data-dir", dataDir, "--workers", String(workers));
  const env = { ...process.env, WHARF_LOG_LEVEL: "warn", ...options.env };
  return launch(name, process.execPath, args, env, `http://127.0.0.1:${port}`, "/v2/", dataDir);
}

/**
 * `count` one-worker Wharf nodes on the same database and bucket prefix (`env`), behind nginx run from
 * examples/nginx/nginx.conf (test/helpers/nginx.ts), which is what the README tells users to run.
 */
export async function startWharfNodes(
  options: Omit<WharfOptions, "workers"> & { count: number },
): Promise<Target> {
  const nodes: Target[] = [];
  try {
    for (let i = 0; i < options.count; i++) {
      const dataDir = join(options.dataDir, `node${i}`);
      // One at a time: the first migrates the empty database, the others find it current.
      nodes.push(await startWharf({ ...options, name: `${options.name}/${i}`, dataDir, workers: 1 }));
    }
    const nginx = await startNginx(nodes.map((n) => new URL(n.url).host));
    return {
      name: options.name,
      url: nginx.url,
      pids: nodes.flatMap((n) => n.pids),
      dataDir: options.dataDir,
      async stop() {
        await nginx.stop();
        for (const node of nodes) await node.stop();
      },
    };
  } catch (err) {
    for (const node of nodes) await node.stop();
    throw err;
  }
}

/** The storage section: the same for both drivers except where the bytes go. */
function distributionStorage(dataDir: string, s3: DistributionS3 | undefined): string[] {
  const driver = s3
    ? [
        "  s3:",
        `    accesskey: ${s3.accessKeyId}`,
        `    secretkey: ${s3.secretAccessKey}`,
        `    region: ${s3.region}`,
        // 2.8 switches to path-style addressing when regionendpoint is set.
        `    regionendpoint: ${s3.endpoint}`,
        `    bucket: ${s3.bucket}`,
        `    rootdirectory: /${s3.prefix.replace(/\/+$/, "")}`,
        `    secure: ${s3.endpoint.startsWith("https:")}`,
        "    v4auth: true",
        // Multipart parts; S3 wants >= 5 MiB, and 10 MiB is the driver's default.
        `    chunksize: ${10 * 1024 * 1024}`,
        // Blob GETs stream through the registry, as Wharf's do with storage.redirect false.
        "  redirect:",
        "    disable: true",
      ]
    : ["  filesystem:", `    rootdirectory: ${join(dataDir, "storage")}`];
  return ["storage:", ...driver, "  delete:", "    enabled: true"];
}

/** CNCF Distribution 2.8 (filesystem or `s3` storage), deletes enabled, error-level logs, no access log. */
export async function startDistribution(name: string, dataDir: string, s3?: DistributionS3): Promise<Target> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    ...distributionStorage(dataDir, s3),
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "",
  ].join("\n");
  const configPath = join(dataDir, "config.yml");
  await writeFile(configPath, config);
  const url = `http://127.0.0.1:${port}`;
  // aws-sdk-go panics on AWS_CA_BUNDLE with the registry's HTTP transport; the endpoint is plain HTTP.
  const { AWS_CA_BUNDLE: _unused, ...env } = process.env;
  return launch(name, DISTRIBUTION, ["serve", configPath], env, url, "/v2/", dataDir);
}

/** The calibration server (bench/load/static-server.ts): fixed manifest, files, and a body sink. */
export async function startStatic(dataDir: string): Promise<Target> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const script = join(ROOT, "bench/load/static-server.ts");
  const args = ["--import", "tsx", script, String(port), dataDir];
  return launch("static", process.execPath, args, process.env, `http://127.0.0.1:${port}`, "/v2/", dataDir);
}
