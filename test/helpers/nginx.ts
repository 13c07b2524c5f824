/**
 * nginx (Debian's) in front of Wharf nodes, configured from examples/nginx/nginx.conf — the file the
 * README tells users to run — with the addresses swapped for the test's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const EXAMPLE = resolve(import.meta.dirname, "..", "..", "examples", "nginx", "nginx.conf");

export interface Nginx {
  url: string;
  host: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, "close");
  return port;
}

/** Starts nginx balancing over `upstreams` (host:port each) and waits until it answers. */
export async function startNginx(upstreams: string[]): Promise<Nginx> {
  const prefix = await mkdtemp(join(tmpdir(), "wharf-nginx-"));
  const port = await freePort();
  let conf = await readFile(EXAMPLE, "utf8");
  const servers = upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=5s;`).join("\n");
  conf = conf.replace(/( {4}server 127\.0\.0\.1:508[12] [^\n]*\n)+/, `${servers}\n`);
  conf = conf.replace("listen 127.0.0.1:5080;", `listen 127.0.0.1:${port};`);
  // As root, nginx's workers would switch to nobody, who cannot write the temporary directories here.
  if (process.getuid?.() === 0) conf = `user root;\n${conf}`;
  if (!conf.includes(`listen 127.0.0.1:${port};`) || !conf.includes(upstreams[0] ?? "?")) {
    throw new Error("examples/nginx/nginx.conf no longer has the lines this helper replaces");
  }
  await mkdir(join(prefix, "logs"));
  const confPath = join(prefix, "nginx.conf");
  await writeFile(confPath, conf);
  const child: ChildProcess = spawn("nginx", ["-p", prefix, "-c", confPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    try {
      await (await fetch(`${url}/v2/`)).arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not answer: ${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGQUIT");
        await once(child, "exit");
      }
      await rm(prefix, { recursive: true, force: true });
    },
  };
}
