import { join } from "node:path";
import { openPostgres, openSqlite, type Db } from "../metadata/database.js";
import type { BlobStore } from "../storage/blob-store.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import type { ServerConfig } from "./config.js";

/** Whether this configuration keeps anything in the data directory (else a node holds no state). */
export function usesDataDir(config: ServerConfig): boolean {
  return config.metadataDriver === "sqlite" || config.storageDriver === "filesystem";
}

/** The metadata database the configuration names; `migrate: false` only checks the schema. */
export async function openMetadata(config: ServerConfig, options: { migrate: boolean }): Promise<Db> {
  if (config.metadataDriver === "postgres") {
    return openPostgres(config.metadataUrl ?? "", config.metadataPoolSize, options);
  }
  return openSqlite(join(config.dataDir, "metadata.db"), options);
}

/** The blob store the configuration names, ready to use. */
export async function openBlobStore(config: ServerConfig): Promise<BlobStore> {
  const store = new FsBlobStore(join(config.dataDir, "storage"));
  await store.init();
  return store;
}
