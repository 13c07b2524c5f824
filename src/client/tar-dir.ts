import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { PassThrough, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { Pack, type WriteEntry } from "tar";
import { UsageError } from "./errors.js";

export interface PackedDirectory {
  /** Digest and size of the tar+gzip file. */
  digest: string;
  size: number;
  /** Digest of the uncompressed tar (ORAS records it as io.deis.oras.content.digest). */
  tarDigest: string;
}

/** Every entry gets this mtime: a date, not 1970, so that tools that warn about epoch times stay quiet. */
const FIXED_MTIME = new Date("2000-01-01T00:00:00Z");

/**
 * Packs `dir` into `outFile` as a reproducible tar+gzip: entries sorted, under the directory's own name,
 * with fixed mtimes, no owners, modes reduced to 0644/0755, hard links stored as plain files, and a gzip
 * header without time or OS. The same directory content always gives the same bytes.
 */
export async function packDirectory(dir: string, outFile: string): Promise<PackedDirectory> {
  const name = basename(dir);
  const entries = [name, ...(await walk(dir, name))];
  const pack = new Pack({
    cwd: dirname(dir),
    portable: true,
    noDirRecurse: true,
    follow: false,
    mtime: FIXED_MTIME,
    linkCache: new NoLinkCache(),
    onWriteEntry: normalizeMode,
  });
  const tarHash = createHash("sha256");
  const gzHash = createHash("sha256");
  let size = 0;
  const tap = new PassThrough();
  const done = pipeline(
    tap,
    hashing(tarHash),
    createGzip(),
    anonymousGzipHeader(),
    hashing(gzHash, (n) => (size += n)),
    createWriteStream(outFile),
  );
  pack.on("error", (err: unknown) => tap.destroy(err instanceof Error ? err : new Error(String(err))));
  pack.pipe(tap);
  for (const entry of entries) pack.add(entry);
  pack.end();
  await done;
  return { digest: `sha256:${gzHash.digest("hex")}`, size, tarDigest: `sha256:${tarHash.digest("hex")}` };
}

/** Relative paths under `dir` (prefixed with `prefix`), depth-first, sorted byte-wise at each level. */
async function walk(dir: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  const names = (await readdir(dir)).sort(compareBytes);
  for (const entryName of names) {
    const full = join(dir, entryName);
    const path = `${prefix}/${entryName}`;
    const info = await lstat(full);
    if (info.isDirectory()) out.push(path, ...(await walk(full, path)));
    else if (info.isFile() || info.isSymbolicLink()) out.push(path);
    else
      throw new UsageError(
        `cannot pack ${relative(process.cwd(), full) || full}: not a file, directory or symlink`,
      );
  }
  return out;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Only "executable or not" survives, whatever the umask of the machine that pushed. */
function normalizeMode(entry: WriteEntry): void {
  const stat = entry.stat;
  if (!stat) return;
  const executable = entry.type === "Directory" || (stat.mode & 0o111) !== 0;
  stat.mode = (stat.mode & ~0o7777) | (executable ? 0o755 : 0o644);
}

/** node-tar turns files with several links into hard-link entries; we want content, not inode trivia. */
class NoLinkCache extends Map<`${number}:${number}`, string> {
  override get(): undefined {
    return undefined;
  }
}

export function hashing(hash: ReturnType<typeof createHash>, onBytes?: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
}

/** Sets the gzip header's OS byte (offset 9) to 255, "unknown": zlib writes the build platform there. */
export function anonymousGzipHeader(): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      const at = 9 - offset;
      offset += chunk.length;
      if (at < 0 || at >= chunk.length) return callback(null, chunk);
      const copy = Buffer.from(chunk);
      copy.writeUInt8(0xff, at);
      callback(null, copy);
    },
  });
}
