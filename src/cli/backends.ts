import { join } from "node:path";
import { openPostgres, openSqlite, type Db, type OpenOptions } from "../metadata/database.js";
import type { BlobStore } from "../storage/blob-store.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { S3BlobStore } from "../storage/s3-blob-store.js";
import { ConfigError, type ServerConfig } from "./config.js";

/** Whether this configuration keeps anything in the data directory (else a node holds no state). */
export function usesDataDir(config: ServerConfig): boolean {
  return config.metadataDriver === "sqlite" || config.storageDriver === "filesystem";
}

/** The metadata database the configuration names; `migrate: false` only checks the schema. */
export async function openMetadata(
  config: ServerConfig,
  options: OpenOptions & { migrate: boolean },
): Promise<Db> {
  if (config.metadataDriver === "postgres") {
    return openPostgres(config.metadataUrl ?? "", config.metadataPoolSize, options);
  }
  return openSqlite(join(config.dataDir, "metadata.db"), options);
}

/** The blob store the configuration names, ready to use (an S3 bucket is checked to be reachable). */
export async function openBlobStore(config: ServerConfig): Promise<BlobStore> {
  if (config.storageDriver === "s3") {
    // The SDK warns on every start that future versions need Node 22: noise for an operator, who cannot
    // act on it. The SDK's own switch, so every other warning still shows.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    const store = new S3BlobStore({
      bucket: config.s3Bucket ?? "",
      prefix: config.s3Prefix,
      endpoint: config.s3Endpoint,
      region: config.s3Region,
      forcePathStyle: config.s3ForcePathStyle,
      publicEndpoint: config.s3PublicEndpoint,
      redirect: config.storageRedirect,
    });
    try {
      await store.check();
    } catch (err) {
      store.close();
      throw new ConfigError("storage.s3.bucket", (err as Error).message);
    }
    return store;
  }
  const store = new FsBlobStore(join(config.dataDir, "storage"));
  await store.init();
  return store;
}
