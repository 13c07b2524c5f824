/** Looking straight into a server's blob store (files, or the S3 bucket under its prefix), for GC tests. */
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { s3Settings, testS3Client, TEST_BUCKET } from "../helpers/backends.js";
import { listFiles } from "./storage-support.js";

/** Digests of every committed blob the store of the registry holds. */
export async function storedBlobs(dataDir: string, backend: Record<string, string>): Promise<Set<string>> {
  const found = new Set<string>();
  if (backend.WHARF_STORAGE_DRIVER === "s3") {
    const client = testS3Client(await s3Settings());
    const root = `${backend.WHARF_S3_PREFIX ?? ""}blobs/`;
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: TEST_BUCKET, Prefix: root, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? [])
          found.add(digestOfPath((object.Key ?? "").slice(root.length)));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } finally {
      client.destroy();
    }
    return found;
  }
  for (const path of await listFiles(join(dataDir, "storage", "blobs"))) found.add(digestOfPath(path));
  return found;
}

/** `sha256/ab/abcd…` → `sha256:abcd…` */
function digestOfPath(path: string): string {
  const [algorithm = "", , hex = ""] = path.split("/");
  return `${algorithm}:${hex}`;
}
