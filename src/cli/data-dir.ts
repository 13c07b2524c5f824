import { chmod, lstat, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** Deep enough for metadata.db*, auth/ keys, storage/blobs and storage/uploads; blob trees below are
 * protected by the private directories above them, and walking them at every start would not scale. */
const TIGHTEN_DEPTH = 2;

/**
 * Makes the data directory private to this user (it holds password and token hashes and the token
 * signing key): creates it 0700, or tightens an existing one and what sits near its top to 0700/0600.
 * Sets this process's umask to 077 so everything created in it afterwards (SQLite's -wal and -shm,
 * blobs, upload files, keys) is private whatever umask the server was started with.
 * Returns the paths whose modes were tightened, for a warning.
 */
export async function preparePrivateDataDir(dir: string): Promise<string[]> {
  process.umask(0o077);
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const tightened: string[] = [];
  await tighten(dir, 0, tightened);
  return tightened;
}

async function tighten(path: string, depth: number, tightened: string[]): Promise<void> {
  const info = await lstat(path);
  // Symlinks are left alone: chmod would follow them out of the data directory.
  if (info.isSymbolicLink()) return;
  const wanted = info.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
  if ((info.mode & 0o777 & ~wanted) !== 0) {
    await chmod(path, info.mode & 0o777 & wanted);
    tightened.push(path);
  }
  if (!info.isDirectory() || depth >= TIGHTEN_DEPTH) return;
  for (const entry of await readdir(path)) await tighten(join(path, entry), depth + 1, tightened);
}
