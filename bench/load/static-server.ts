/**
 * Calibration server: the least a registry could do. Manifests are one fixed body; blob uploads are
 * written to a file named by the digest without hashing; blob GETs read the file into reused buffers.
 * Usage: static-server.ts PORT DIR
 */
import { createWriteStream, mkdirSync } from "node:fs";
import { open, rename, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

const port = Number(process.argv[2]);
const dir = process.argv[3] ?? ".";
mkdirSync(join(dir, "blobs"), { recursive: true });
mkdirSync(join(dir, "uploads"), { recursive: true });

const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: `sha256:${"a".repeat(64)}`,
      size: 2,
    },
    layers: [
      { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: `sha256:${"b".repeat(64)}`, size: 4096 },
    ],
  }),
);
let uploads = 0;

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  const path = url.pathname;
  if (/\/manifests\//.test(path)) {
    if (req.method === "PUT") {
      await drain(req);
      return void res.writeHead(201, { Location: path, "Content-Length": 0 }).end();
    }
    res.writeHead(200, {
      "Content-Type": "application/vnd.oci.image.manifest.v1+json",
      "Content-Length": manifest.length,
      "Docker-Content-Digest": `sha256:${"c".repeat(64)}`,
    });
    return void res.end(req.method === "HEAD" ? undefined : manifest);
  }
  if (req.method === "POST" && /\/blobs\/uploads\/?$/.test(path)) {
    await drain(req);
    const location = `${path.replace(/\/?$/, "/")}u${uploads++}`;
    return void res.writeHead(202, { Location: location, "Content-Length": 0 }).end();
  }
  const upload = /\/blobs\/uploads\/([^/]+)$/.exec(path)?.[1];
  if (upload && (req.method === "PATCH" || req.method === "PUT")) {
    const file = join(dir, "uploads", upload);
    await pipeline(req, createWriteStream(file, { flags: "a" }));
    const digest = url.searchParams.get("digest");
    if (req.method === "PATCH") return void res.writeHead(202, { Location: path, "Content-Length": 0 }).end();
    await rename(file, join(dir, "blobs", (digest ?? "").replace(":", "-")));
    return void res.writeHead(201, { Location: path, "Content-Length": 0 }).end();
  }
  const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path)?.[1];
  if (blob && req.method === "GET") {
    const file = join(dir, "blobs", blob.replace(":", "-"));
    const info = await stat(file);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": info.size });
    return sendFile(file, info.size, res);
  }
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": 2 }).end("{}");
}

/**
 * The least copying Node can do: read into a few reused buffers, each rewritten once the socket took
 * it (a read stream allocates per chunk and the garbage collection costs half the throughput).
 */
async function sendFile(file: string, size: number, res: ServerResponse): Promise<void> {
  const handle = await open(file, "r");
  const free: Buffer[] = Array.from({ length: 4 }, () => Buffer.allocUnsafe(256 * 1024));
  const waiting: (() => void)[] = [];
  let closed = false;
  res.once("close", () => {
    closed = true;
    waiting.splice(0).forEach((wake) => wake());
  });
  const nextFree = () =>
    free.length > 0 || closed ? Promise.resolve() : new Promise<void>((wake) => waiting.push(wake));
  try {
    for (let position = 0; position < size;) {
      await nextFree();
      const buffer = free.pop();
      if (closed || !buffer) break;
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      res.write(buffer.subarray(0, bytesRead), () => {
        free.push(buffer);
        waiting.shift()?.();
      });
    }
    if (!closed) res.end();
  } finally {
    await handle.close();
  }
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve, reject) => req.on("end", resolve).on("error", reject).resume());
}

const server = createServer((req, res) => {
  handle(req, res).catch((err: unknown) => {
    if (!res.headersSent) res.writeHead(500).end(String(err));
    else res.destroy();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
