import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { openSqlite } from "../metadata/database.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { Registry } from "../registry/registry.js";
import { buildHttpServer } from "../http/server.js";
import type { ServerConfig } from "./config.js";

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Opens the data directory, cleans what a crash left, and serves the API until close(). */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const log = pino({ level: config.logLevel, base: undefined }, pino.destination(2));
  await mkdir(config.dataDir, { recursive: true });
  const store = new FsBlobStore(join(config.dataDir, "storage"));
  await store.init();
  const db = await openSqlite(join(config.dataDir, "metadata.db"));
  const registry = new Registry(db, store, { uploadTtlMs: config.uploadTtlMs }, log);
  await registry.start();

  const app = buildHttpServer(registry, log, { idleTimeoutMs: config.idleTimeoutMs });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  return {
    url: `http://${host}:${port}`,
    async close() {
      await app.close();
      await registry.stop();
    },
  };
}

/** Runs until SIGTERM/SIGINT, then lets in-flight requests finish (bounded by the shutdown timeout). */
export async function serve(config: ServerConfig): Promise<void> {
  const server = await startServer(config);
  process.stdout.write(`listening on ${server.url}\n`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal} received, finishing in-flight requests\n`);
    const timer = setTimeout(() => {
      process.stderr.write("shutdown timed out; exiting with requests still open\n");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}
