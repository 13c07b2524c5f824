import { pino } from "pino";
import { UsageError, WharfError } from "../client/errors.js";
import { RegistryError } from "../oci/errors.js";
import { SchemaPendingError, SchemaTooNewError } from "../metadata/migrations.js";
import { BUILTIN_KINDS, mergeKinds } from "../oci/kinds/index.js";
import { AuditLog } from "../registry/audit.js";
import { Registry } from "../registry/registry.js";
import { GcBusyError } from "../registry/gc/collector.js";
import { S3BlobStore } from "../storage/s3-blob-store.js";
import { openBlobStore, openMetadata } from "./backends.js";
import type { ServerConfig } from "./config.js";
import { loadTargetConfig } from "./commands/admin/user.js";
import { preparePrivateDataDir } from "./data-dir.js";
import type { GcTarget } from "./commands/admin/lifecycle/gc.js";

/**
 * `wharf gc --data-dir DIR` (or --server-config): the server's own collector, run in this process on
 * the registry's database and blob store, for registries without accounts (whose admin API is off).
 * The `gc` lease in the database keeps it from overlapping a running server's sweep (it answers that
 * one is running instead); the run is recorded and audited as the `local` actor, like any other.
 * The database is never migrated from here: a server of the older version may be running on it.
 */
export async function withLocalCollector(
  options: { dataDir?: string; serverConfig?: string },
  work: (target: GcTarget) => Promise<void>,
): Promise<void> {
  const config = await loadTargetConfig(options);
  if (config.metadataDriver === "sqlite") await preparePrivateDataDir(config.dataDir);
  const db = await openSchemaAsIs(config);
  const log = pino({ level: "silent" });
  let registry: Registry | undefined;
  try {
    const store = await openBlobStore(config);
    const gc = { graceMs: config.gcGraceMs, intervalMs: 0, untagged: config.gcUntagged };
    const index = { namespaces: config.indexNamespaces, delayMs: config.indexDelayMs };
    const kinds = mergeKinds(BUILTIN_KINDS, config.kinds);
    // Not started: no schedules, no background work; only the collector's run.
    registry = new Registry(db, store, { uploadTtlMs: config.uploadTtlMs, kinds, index, gc }, log);
    registry.gc.auditWith(new AuditLog(db, log));
    const collector = registry.gc;
    const runs = new Map<string, Promise<unknown>>();
    await work({
      where: config.metadataDriver === "sqlite" ? config.dataDir : "the configured database",
      start: async (run) => {
        try {
          const started = await collector.begin({ ...run, trigger: "manual", actor: "local", client: "cli" });
          runs.set(started.id, started.finished);
          return started.report;
        } catch (err) {
          if (err instanceof GcBusyError) throw new UsageError(err.message);
          // The request itself was refused (a grace window out of bounds): bad input, as through the API.
          if (err instanceof RegistryError && err.code === "INVALID_REQUEST")
            throw new UsageError(err.message);
          throw err;
        }
      },
      get: async (id) => {
        const run = await collector.get(id);
        if (!run) throw new Error(`the run ${id} is not recorded`);
        return run;
      },
    });
    // Whatever happened to the caller, the run ends (and is recorded) before the database closes.
    await Promise.allSettled(runs.values());
    // An S3 store holds sockets open; the filesystem one holds nothing.
    if (store instanceof S3BlobStore) store.close();
  } finally {
    await registry?.gc.stop();
    await db.destroy();
  }
}

/**
 * The registry's database as it is: a pending migration means this wharf is newer than the server that
 * runs on it, which must be upgraded first (migrating under it would change its schema while it serves).
 */
async function openSchemaAsIs(config: ServerConfig): ReturnType<typeof openMetadata> {
  try {
    return await openMetadata(config, { migrate: false });
  } catch (err) {
    if (err instanceof SchemaTooNewError) throw new WharfError(err.message);
    if (err instanceof SchemaPendingError) {
      throw new WharfError(
        err.empty
          ? "the registry's database is not set up yet: start the server on it once, then run wharf gc"
          : `${err.message}: this wharf is newer than the registry's server. Upgrade the server first ` +
              "(it migrates the database when it starts), then run wharf gc again",
      );
    }
    throw err;
  }
}
