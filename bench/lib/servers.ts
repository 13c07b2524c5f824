import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

/** A server process under test, on loopback. */
export interface Target {
  name: string;
  url: string;
  pid: number;
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
    if (Date.now() > deadline) throw new Error(`${name} did not start in 30s:\n${output}`);
    await sleep(100);
  }
  return {
    name,
    url,
    pid: child.pid ?? 0,
    dataDir,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await once(child, "exit");
      if (output.trim()) process.stderr.write(`[${name} stderr]\n${output.trim()}\n`);
    },
  };
}

/** Wharf from dist/, with info logs off; `cpuProfDir` adds node --cpu-prof (written on exit). */
export async function startWharf(dataDir: string, cpuProfDir?: string): Promise<Target> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const prof = cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : [];
  const args = [...prof, join(ROOT, "bin/wharf"), "serve", "--listen", `127.0.0.1:${port}`];
  args.push("--data-dir", dataDir);
  const env = { ...process.env, WHARF_LOG_LEVEL: "warn" };
  return launch("wharf", process.execPath, args, env, `http://127.0.0.1:${port}`, "/v2/", dataDir);
}

/** CNCF Distribution 2.8 with filesystem storage, deletes enabled, error-level logs, no access log. */
export async function startDistribution(dataDir: string): Promise<Target> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dataDir, "storage")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    "",
  ].join("\n");
  const configPath = join(dataDir, "config.yml");
  await writeFile(configPath, config);
  const url = `http://127.0.0.1:${port}`;
  return launch("distribution", DISTRIBUTION, ["serve", configPath], process.env, url, "/v2/", dataDir);
}

/** The calibration server (bench/load/static-server.ts): fixed manifest, files, and a body sink. */
export async function startStatic(dataDir: string): Promise<Target> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const script = join(ROOT, "bench/load/static-server.ts");
  const args = ["--import", "tsx", script, String(port), dataDir];
  return launch("static", process.execPath, args, process.env, `http://127.0.0.1:${port}`, "/v2/", dataDir);
}
