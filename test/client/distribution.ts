import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import bcrypt from "bcryptjs";

/** CNCF Distribution 2.8 from Debian's docker-registry package, on a free loopback port. */
export interface Distribution {
  url: string;
  host: string;
  stop(): Promise<void>;
}

const BINARY = "/usr/bin/docker-registry";

/** Installs docker-registry when missing (CI machines start without it); waits out a held dpkg lock. */
function ensureInstalled(): void {
  if (existsSync(BINARY)) return;
  for (let attempt = 0; attempt < 30 && !existsSync(BINARY); attempt++) {
    const result = spawnSync("apt-get", ["install", "-y", "-q", "docker-registry"], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      encoding: "utf8",
    });
    if (result.status === 0) return;
    if (!/lock/i.test(`${result.stderr}`)) {
      spawnSync("apt-get", ["update", "-q"], { encoding: "utf8" });
    }
    spawnSync("sleep", ["2"]);
  }
  if (!existsSync(BINARY))
    throw new Error("docker-registry is not installed and apt-get could not install it");
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  server.close();
  await once(server, "close");
  return port;
}

/** Starts Distribution; with `users`, it requires Basic auth checked against a bcrypt htpasswd file. */
export async function startDistribution(
  options: { users?: Record<string, string> } = {},
): Promise<Distribution> {
  ensureInstalled();
  const dir = await mkdtemp(join(tmpdir(), "wharf-distribution-"));
  const port = await freePort();
  const lines = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
  ];
  if (options.users) {
    const htpasswd = Object.entries(options.users)
      .map(([user, password]) => `${user}:${bcrypt.hashSync(password, 4)}`)
      .join("\n");
    await writeFile(join(dir, "htpasswd"), `${htpasswd}\n`);
    lines.push("auth:", "  htpasswd:", "    realm: wharf-test", `    path: ${join(dir, "htpasswd")}`);
  }
  await writeFile(join(dir, "config.yml"), `${lines.join("\n")}\n`);
  const child: ChildProcess = spawn(BINARY, ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`docker-registry did not start in 20s:\n${output}`);
    await sleep(100);
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
