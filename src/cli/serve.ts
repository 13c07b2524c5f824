import { join } from "node:path";
import cluster from "node:cluster";
import { openBlobStore, openMetadata, usesDataDir } from "./backends.js";
import { releaseAllLeases } from "../metadata/uploads.js";
import { supervise, WORKER_INDEX_ENV } from "./supervisor.js";
import { Registry } from "../registry/registry.js";
import { BUILTIN_KINDS, mergeKinds } from "../oci/kinds/index.js";
import { buildHttpServer } from "../http/server.js";
import { ConfigError, isLoopback, workerCount, type ServerConfig } from "./config.js";
import type { Db } from "../metadata/database.js";
import type { Logger } from "pino";
import { SessionService } from "../auth/sessions.js";
import { Authenticator } from "../auth/authenticator.js";
import { Accounts } from "../auth/accounts.js";
import { loadOrCreateSigningKey } from "../auth/keys.js";
import { TokenIssuer } from "../auth/tokens.js";
import { TokenService } from "../auth/token-service.js";
import { AccessGuard } from "../http/access.js";
import { AuditLog } from "../registry/audit.js";
import type { Services } from "../http/server.js";
import { createPrivateDataDir, tightenDataDir } from "./data-dir.js";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.js";
import { serverLogger } from "./server-log.js";

/** The address is taken: said with how to pick another, instead of a stack trace. */
export class AddressInUseError extends Error {
  constructor(address: string) {
    super(
      `${address} is already in use (another wharf serve, or another program): stop it, or choose ` +
        "another address with --listen HOST:PORT, WHARF_LISTEN=HOST:PORT, `listen:` in the configuration " +
        "file, or `npm start -- --listen HOST:PORT` (port 0 picks a free one)",
    );
  }
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** What the process that starts a node did first: the data directory taken, the schema migrated. */
interface Prepared {
  lock: DataDirLock | undefined;
  release(): void;
}

/**
 * Takes the data directory when the configuration uses one (private, locked against a second server)
 * and brings the database schema up to date, once, before any worker serves. A crashed predecessor's
 * upload leases are released when the lock proves this is the only server on its database.
 */
async function prepare(config: ServerConfig, log: Logger): Promise<Prepared> {
  let lock: DataDirLock | undefined;
  if (usesDataDir(config)) {
    // Lock before tightening: a refused second server must not touch the running one's files.
    await createPrivateDataDir(config.dataDir);
    lock = lockDataDir(config.dataDir);
  }
  const release = () => lock?.release();
  try {
    if (lock) {
      const tightened = await tightenDataDir(config.dataDir);
      if (tightened.length > 0) {
        log.warn(
          { dataDir: config.dataDir, paths: tightened.slice(0, 20), count: tightened.length },
          "the data directory was readable by others: made it private (directories 0700, files 0600)",
        );
      }
    }
    const db = await openMetadata(config, { migrate: true });
    try {
      if (alone(config)) await releaseAllLeases(db);
    } finally {
      await db.destroy();
    }
  } catch (err) {
    release();
    throw err;
  }
  return { lock, release };
}

/** The data directory's lock covers the database: no other server can be using it. */
function alone(config: ServerConfig): boolean {
  return config.metadataDriver === "sqlite";
}

/** One node: the registry on the configured backends, serving HTTP until close(). */
async function startNode(config: ServerConfig, log: Logger, worker?: number): Promise<RunningServer> {
  const store = await openBlobStore(config);
  const db = await openMetadata(config, {
    migrate: false,
    onIdleError: (err) => log.warn({ err }, "an idle PostgreSQL connection failed; the pool replaces it"),
  });
  const kinds = mergeKinds(BUILTIN_KINDS, config.kinds);
  const index = { namespaces: config.indexNamespaces, delayMs: config.indexDelayMs };
  const gc = { graceMs: config.gcGraceMs, intervalMs: config.gcIntervalMs, untagged: config.gcUntagged };
  const options = { uploadTtlMs: config.uploadTtlMs, kinds, index, gc };
  const registry = new Registry(db, store, options, log);
  let services: Services;
  let authEnabled: boolean;
  try {
    ({ services, authEnabled } = await buildServices(config, db, registry, log));
  } catch (err) {
    await db.destroy();
    throw err;
  }
  await registry.start();

  const app = buildHttpServer(services, log, {
    idleTimeoutMs: config.idleTimeoutMs,
    bodyTimeoutMs: config.bodyTimeoutMs,
    trustedProxies: config.trustedProxies,
    ui: config.uiEnabled,
  });
  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await app.close();
    services.authenticator.stopWatching();
    await registry.stop();
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new AddressInUseError(`${host}:${config.listen.port}`);
    }
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.listen.port;
  const url = `http://${host}:${port}`;
  log.info(
    {
      listen: url,
      dataDir: usesDataDir(config) ? config.dataDir : undefined,
      metadata: config.metadataDriver,
      storage: config.storageDriver,
      auth: authEnabled,
      pid: process.pid,
    },
    worker === undefined ? "wharf serve started" : "wharf serve worker started",
  );
  return {
    url,
    async close() {
      await app.close();
      services.authenticator.stopWatching();
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
): Promise<{ services: Services; authEnabled: boolean }> {
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
  // Only a node that uses its data directory can have an older version's key file there: a stateless
  // node must not adopt whatever registry once ran in its default data directory.
  const legacyKey = usesDataDir(config) ? join(config.dataDir, "auth", "token-signing-key.json") : undefined;
  const key = await loadOrCreateSigningKey(db, legacyKey);
  await authenticator.watchChanges();
  const issuer = new TokenIssuer(key, {
    issuer: "wharf",
    service: config.authService,
    accessTtlSeconds: Math.max(Math.round(config.tokenTtlMs / 1000), 1),
    refreshTtlSeconds: Math.max(Math.round(config.refreshTtlMs / 1000), 1),
  });
  const audit = new AuditLog(db, log);
  registry.indexes.auditWith(audit);
  registry.signatures.auditWith(audit);
  registry.gc.auditWith(audit);
  const sessions = new SessionService(db, authenticator);
  const services = {
    registry,
    authenticator,
    sessions,
    guard: new AccessGuard(
      authenticator,
      issuer,
      { realm: config.authRealm, service: config.authService },
      audit,
      sessions,
    ),
    tokens: new TokenService(authenticator, issuer),
    audit,
    accounts: new Accounts(db, () => authenticator.invalidate()),
  };
  return { services, authEnabled: enabled };
}

/**
 * Runs until SIGTERM/SIGINT, then lets in-flight requests finish (bounded by the shutdown timeout). With
 * more than one worker this process only supervises: the workers (node:cluster) share the address and
 * each is a full node.
 */
export async function serve(config: ServerConfig): Promise<void> {
  const log = serverLogger(config.logLevel);
  if (cluster.isWorker) return serveWorker(config, log);
  if (config.metadataDriver === "postgres" && config.storageDriver === "filesystem") {
    log.warn(
      { dataDir: config.dataDir },
      "metadata in PostgreSQL, blobs in this node's data directory: other nodes on this database cannot " +
        "serve them (use storage.driver: s3, or a directory every node shares)",
    );
  }
  const prepared = await prepare(config, log);
  const workers = workerCount(config);
  if (workers > 1) return supervise(config, log, workers, prepared);
  let server: RunningServer;
  try {
    server = await startNode(config, log);
  } catch (err) {
    prepared.release();
    throw err;
  }
  prepared.lock?.setUrl(server.url);
  process.stdout.write(`listening on ${server.url}\n`);
  onShutdown(config, log, async () => {
    await server.close();
    prepared.release();
  });
}

/** A worker: one node; it also stops when the supervisor is gone (its IPC channel closes). */
async function serveWorker(config: ServerConfig, log: Logger): Promise<void> {
  const index = Number(process.env[WORKER_INDEX_ENV] ?? 0);
  const server = await startNode(config, log.child({ worker: index }), index);
  onShutdown(config, log, () => server.close());
  // The supervisor held the data directory's lock: once it is gone another server may take the data
  // directory (and release this worker's upload leases), so this worker stops at once, mid-request.
  process.on("disconnect", () => {
    log.error("the supervisor is gone; stopping now");
    process.exit(1);
  });
}

/**
 * Calls `close` once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it failed or took
 * longer than the shutdown timeout.
 */
function onShutdown(config: ServerConfig, log: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "finishing in-flight requests");
    const timer = setTimeout(() => {
      log.error(
        { timeoutMs: config.shutdownTimeoutMs },
        "shutdown timed out; exiting with requests still open",
      );
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    close().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}
