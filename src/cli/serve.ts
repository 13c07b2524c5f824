import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { openSqlite } from "../metadata/database.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { Registry } from "../registry/registry.js";
import { BUILTIN_KINDS, mergeKinds } from "../oci/kinds/index.js";
import { buildHttpServer } from "../http/server.js";
import { ConfigError, isLoopback, type ServerConfig } from "./config.js";
import type { Db } from "../metadata/database.js";
import type { Logger } from "pino";
import { Authenticator } from "../auth/authenticator.js";
import { Accounts } from "../auth/accounts.js";
import { loadOrCreateSigningKey } from "../auth/keys.js";
import { TokenIssuer } from "../auth/tokens.js";
import { TokenService } from "../auth/token-service.js";
import { AccessGuard } from "../http/access.js";
import { AuditLog } from "../registry/audit.js";
import type { Services } from "../http/server.js";

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
  const kinds = mergeKinds(BUILTIN_KINDS, config.kinds);
  const registry = new Registry(db, store, { uploadTtlMs: config.uploadTtlMs, kinds }, log);
  let services: Services;
  try {
    services = await buildServices(config, db, registry, log);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  await registry.start();

  const app = buildHttpServer(services, log, { idleTimeoutMs: config.idleTimeoutMs });
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

/** Authentication, accounts and audit around the registry; refuses to run open where that is unsafe. */
async function buildServices(
  config: ServerConfig,
  db: Db,
  registry: Registry,
  log: Logger,
): Promise<Services> {
  const authenticator = new Authenticator(db, {
    configured: config.authEnabled,
    maxFailuresPerUser: config.maxFailedLogins,
    maxFailuresPerClient: config.maxFailedLogins * 10,
    lockoutWindowMs: config.lockoutMs,
  });
  if (config.authEnabled) await authenticator.markEnabled();
  const enabled = await authenticator.isEnabled();
  if (!enabled && !isLoopback(config.listen.host) && !config.allowOpen) {
    throw new ConfigError(
      "auth.enabled",
      `refusing to serve ${config.listen.host} without authentication: set auth.enabled: true ` +
        "(and add an administrator with `wharf user add NAME --admin`), or auth.allowOpen: true to serve " +
        "an open registry on purpose",
    );
  }
  if (!enabled) log.warn("authentication is off: anyone who can reach this address may push and delete");
  const key = await loadOrCreateSigningKey(join(config.dataDir, "auth", "token-signing-key.json"));
  const issuer = new TokenIssuer(key, {
    issuer: "wharf",
    service: config.authService,
    accessTtlSeconds: Math.max(Math.round(config.tokenTtlMs / 1000), 1),
    refreshTtlSeconds: Math.max(Math.round(config.refreshTtlMs / 1000), 1),
  });
  const audit = new AuditLog(db, log);
  return {
    registry,
    authenticator,
    guard: new AccessGuard(
      authenticator,
      issuer,
      { realm: config.authRealm, service: config.authService },
      audit,
    ),
    tokens: new TokenService(authenticator, issuer),
    audit,
    accounts: new Accounts(db, () => authenticator.invalidate()),
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
