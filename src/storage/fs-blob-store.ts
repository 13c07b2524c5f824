import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, truncate, utimes, type FileHandle } from "node:fs/promises";
import { join, dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { EarlyFlush } from "./early-flush.js";
import {
  BlobNotFoundError,
  StorageFullError,
  UploadNotFoundError,
  type AppendResult,
  type BlobReader,
  type BlobStore,
  type ByteRange,
  type StoredBlob,
  type UploadState,
} from "./blob-store.js";

const STREAM_BUFFER = 1024 * 1024;
/** Stored content is private to the server's user. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const UPLOAD_ID = /^[A-Za-z0-9-]+$/;
const BLOB_HEX = /^[a-f0-9]{32,128}$/;

/**
 * Blobs on a local filesystem: `blobs/<alg>/<first two hex>/<hex>`, uploads under `uploads/<id>`, and
 * blobs taken out of service under `quarantine/<alg>-<hex>`. All live on one filesystem, so committing
 * an upload and quarantining a blob are atomic renames.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  private readonly quarantineDir: string;

  constructor(root: string) {
    this.blobsDir = join(root, "blobs");
    this.uploadsDir = join(root, "uploads");
    this.quarantineDir = join(root, "quarantine");
  }

  async init(): Promise<void> {
    await Promise.all(
      [this.blobsDir, this.uploadsDir].map((d) => mkdir(d, { recursive: true, mode: DIR_MODE })),
    );
  }

  private blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(":") as [string, string];
    return join(this.blobsDir, algorithm, hex.slice(0, 2), hex);
  }

  private uploadPath(id: string): string {
    if (!UPLOAD_ID.test(id)) throw new UploadNotFoundError(id);
    return join(this.uploadsDir, id);
  }

  async stat(digest: string): Promise<{ size: number } | null> {
    try {
      const info = await stat(this.blobPath(digest));
      return { size: info.size };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async openBlob(digest: string): Promise<FileHandle> {
    try {
      return await open(this.blobPath(digest), "r");
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(digest);
      throw err;
    }
  }

  async read(digest: string, range?: ByteRange): Promise<Readable> {
    const handle = await this.openBlob(digest);
    return createReadStream("", {
      fd: handle,
      start: range?.start,
      end: range?.end,
      highWaterMark: STREAM_BUFFER,
    });
  }

  async openReader(digest: string): Promise<BlobReader> {
    const handle = await this.openBlob(digest);
    return {
      read: async (buffer, position, length) => (await handle.read(buffer, 0, length, position)).bytesRead,
      close: () => handle.close(),
    };
  }

  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async quarantine(digest: string): Promise<void> {
    const [algorithm, hex] = digest.split(":") as [string, string];
    await mkdir(this.quarantineDir, { recursive: true, mode: DIR_MODE });
    try {
      // A copy quarantined earlier is replaced: the latest bad copy is the one worth looking at.
      await rename(this.blobPath(digest), join(this.quarantineDir, `${algorithm}-${hex}`));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    // Both directories the rename changed: a crash must not bring the bad copy back, nor lose it.
    await fsyncDir(dirname(this.blobPath(digest)));
    await fsyncDir(this.quarantineDir);
  }

  async createUpload(id: string): Promise<UploadState> {
    const handle = await open(this.uploadPath(id), "wx", FILE_MODE).catch(rethrowFull);
    await handle.close();
    return null;
  }

  async appendUpload(
    id: string,
    _state: UploadState,
    offset: number,
    source: Readable,
  ): Promise<AppendResult> {
    const path = this.uploadPath(id);
    let handle: FileHandle;
    try {
      handle = await open(path, "r+");
    } catch (err) {
      if (isNotFound(err)) throw new UploadNotFoundError(id);
      throw err;
    }
    // The database's size is the truth: bytes past it are what a failed request (maybe on a node that
    // died) wrote and nobody acknowledged. Fewer bytes than it means the data is gone.
    const onDisk = (await handle.stat()).size;
    if (onDisk < offset) {
      await handle.close();
      throw new UploadNotFoundError(id);
    }
    if (onDisk > offset) await handle.truncate(offset);
    const sink = createWriteStream("", { fd: handle, start: offset, highWaterMark: STREAM_BUFFER });
    try {
      await pipeline(source, new EarlyFlush(handle, offset), sink);
    } catch (err) {
      await truncate(path, offset).catch(() => undefined);
      rethrowFull(err);
    }
    return { size: (await stat(path)).size, state: null };
  }

  async readUpload(id: string, _state: UploadState, size: number): Promise<Readable> {
    try {
      const handle = await open(this.uploadPath(id), "r");
      if (size === 0) {
        await handle.close();
        return Readable.from([]);
      }
      return createReadStream("", { fd: handle, start: 0, end: size - 1, highWaterMark: STREAM_BUFFER });
    } catch (err) {
      if (isNotFound(err)) throw new UploadNotFoundError(id);
      throw err;
    }
  }

  async commitUpload(id: string, _state: UploadState, digest: string, size: number): Promise<void> {
    const source = this.uploadPath(id);
    const target = this.blobPath(digest);
    try {
      const handle = await open(source, "r+");
      try {
        const onDisk = (await handle.stat()).size;
        // Fewer bytes than acknowledged (a host crash lost unsynced chunks): never pad, the data is gone.
        if (onDisk < size) throw new UploadNotFoundError(id);
        if (onDisk > size) await handle.truncate(size);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(target), { recursive: true, mode: DIR_MODE });
      // A fresh modification time: the garbage collector takes an old file nobody knows for an orphan.
      const at = new Date();
      await utimes(source, at, at);
      // Same digest means same bytes: replacing an existing blob is harmless, and rename is atomic.
      await rename(source, target);
      await fsyncDir(dirname(target));
    } catch (err) {
      if (isNotFound(err)) throw new UploadNotFoundError(id);
      rethrowFull(err);
    }
  }

  async deleteUpload(id: string): Promise<void> {
    await rm(this.uploadPath(id), { force: true });
  }

  async listBlobs(after: string | undefined, limit: number): Promise<StoredBlob[]> {
    // Directory order is `<alg>/<first two hex>/<hex>`, which sorts as the digests do.
    const found: StoredBlob[] = [];
    const [afterAlg = "", afterHex = ""] = after?.split(":") ?? [];
    for (const algorithm of await sortedDirs(this.blobsDir)) {
      if (after !== undefined && algorithm < afterAlg) continue;
      const sameAlg = after !== undefined && algorithm === afterAlg;
      for (const prefix of await sortedDirs(join(this.blobsDir, algorithm))) {
        if (sameAlg && prefix < afterHex.slice(0, 2)) continue;
        const dir = join(this.blobsDir, algorithm, prefix);
        const names = (await readdir(dir).catch(() => [] as string[])).sort();
        for (const hex of names) {
          if (sameAlg && hex <= afterHex) continue;
          if (!hex.startsWith(prefix) || !BLOB_HEX.test(hex)) continue;
          const info = await stat(join(dir, hex)).catch(() => null);
          if (!info?.isFile()) continue;
          found.push({ digest: `${algorithm}:${hex}`, size: info.size, modified: info.mtime });
          if (found.length >= limit) return found;
        }
      }
    }
    return found;
  }

  async listUploads(before: Date): Promise<string[]> {
    // Only files named like an upload: anything else in the directory (lost+found, a stray copy) is not ours.
    const entries = await readdir(this.uploadsDir, { withFileTypes: true });
    const names = entries.filter((e) => e.isFile() && UPLOAD_ID.test(e.name)).map((e) => e.name);
    const old: string[] = [];
    for (const name of names) {
      const info = await stat(join(this.uploadsDir, name)).catch(() => null);
      if (info && info.mtimeMs < before.getTime()) old.push(name);
    }
    return old;
  }
}

/** Subdirectories, sorted; none when `dir` is missing. */
async function sortedDirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    if (isNotFound(err)) return [];
    throw err;
  });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Out of space or over quota becomes StorageFullError, which callers can answer (507) without a 500. */
function rethrowFull(err: unknown): never {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    throw new StorageFullError(`blob storage is full (${code})`, { cause: err });
  }
  throw err;
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
