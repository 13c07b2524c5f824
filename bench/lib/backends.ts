/**
 * PostgreSQL and S3 for the scale-out targets, started the way the tests start them
 * (test/helpers/backends.ts: the shared cluster on 127.0.0.1:55432 and the S3 server from ../shared/s3).
 * Every target gets a database and a key prefix of its own, removed when the run ends.
 */
import { randomBytes } from "node:crypto";
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import pg from "pg";
import {
  backendEnv,
  postgresAdminUrl,
  s3Settings,
  testS3Client,
  TEST_BUCKET,
  type S3Settings,
} from "../../test/helpers/backends.js";

// The AWS SDK warns that later releases will want Node 22; this run (and the servers it starts, which
// inherit the environment) works on Node 20, so the warning would only bury the progress lines.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export interface DistributionS3 extends S3Settings {
  bucket: string;
  /** Key prefix, ending in "/". */
  prefix: string;
}

export interface Backend<T> {
  settings: T;
  /** Drops what the target stored; call after the target has stopped. */
  remove(): Promise<void>;
}

/** A fresh PostgreSQL database and bucket prefix, as the WHARF_* environment `wharf serve` reads. */
export async function wharfPostgresS3(): Promise<Backend<Record<string, string>>> {
  const env = await backendEnv("postgres-s3");
  // Blob GETs stream through the node, as Distribution's do with redirect disabled.
  env.WHARF_STORAGE_REDIRECT = "false";
  const database = new URL(env.WHARF_METADATA_URL ?? "").pathname.slice(1);
  const prefix = env.WHARF_S3_PREFIX ?? "";
  return {
    settings: env,
    async remove() {
      await deletePrefix(await s3Settings(), prefix);
      await dropDatabase(database);
    },
  };
}

/** A bucket prefix of its own on the same S3 server for Distribution's `s3` driver. */
export async function distributionS3(): Promise<Backend<DistributionS3>> {
  const s3 = await s3Settings();
  const prefix = `bench-dist-${randomBytes(6).toString("hex")}/`;
  return {
    settings: { ...s3, bucket: TEST_BUCKET, prefix },
    remove: () => deletePrefix(s3, prefix),
  };
}

async function dropDatabase(name: string): Promise<void> {
  if (!/^wharf_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop database ${name}`);
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Deletes every object under `prefix` (a page of 1000 at a time; one by one if multi-delete fails). */
async function deletePrefix(settings: S3Settings, prefix: string): Promise<void> {
  if (!prefix) throw new Error("refusing to empty the whole bucket");
  const client = testS3Client(settings);
  try {
    for (;;) {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: prefix, MaxKeys: 1000 }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
      if (keys.length === 0) return;
      try {
        await client.send(
          new DeleteObjectsCommand({
            Bucket: TEST_BUCKET,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch {
        for (const Key of keys) await client.send(new DeleteObjectCommand({ Bucket: TEST_BUCKET, Key }));
      }
    }
  } finally {
    client.destroy();
  }
}
