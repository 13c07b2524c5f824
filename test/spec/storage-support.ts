/** What a server keeps on disk, read directly: upload files, upload sessions, blob files. */
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { backendOf, queryPostgres } from "../helpers/backends.js";

export function uploadsDir(dataDir: string): string {
  return join(dataDir, "storage", "uploads");
}

/** Where the filesystem store keeps a committed blob. */
export function blobFile(dataDir: string, digest: string): string {
  const [algorithm = "", hex = ""] = digest.split(":");
  return join(dataDir, "storage", "blobs", algorithm, hex.slice(0, 2), hex);
}

/** Every regular file under `dir`, relative to it; a missing directory is empty, other errors fail. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Ids of the upload sessions in the server's metadata database (read beside the running server). */
export async function sessionIds(dataDir: string): Promise<string[]> {
  const backend = await backendOf(dataDir);
  if (backend.WHARF_METADATA_URL) {
    const rows = await queryPostgres<{ id: string }>(
      backend,
      'SELECT id FROM uploads ORDER BY id COLLATE "C"',
    );
    return rows.map((r) => r.id);
  }
  const db = new SqliteDatabase(join(dataDir, "metadata.db"), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT id FROM uploads ORDER BY id").all() as { id: string }[];
    return rows.map((r) => r.id);
  } finally {
    db.close();
  }
}
