import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { UsageError } from "../errors.js";
import { anonymousGzipHeader, hashing, type PackedDirectory } from "../tar-dir.js";
import { isIgnored } from "./ignore.js";

const BLOCK = 512;
/** Go's USTAR limits: a 100-byte name, or a 155-byte prefix and 100-byte name split at a slash. */
const NAME_SIZE = 100;
const PREFIX_SIZE = 155;
/** Eleven octal digits: the largest size a USTAR header holds (8 GiB − 1). */
const MAX_USTAR_SIZE = 0o77777777777;

interface Entry {
  /** The name in the archive: `.` for the root, else the slash-separated path below it. */
  name: string;
  /** On disk; undefined for the root of a single-file archive (a staging directory in Flux). */
  path: string | undefined;
  dir: boolean;
  /** Permission bits with setuid/setgid/sticky, as Go's tar.FileInfoHeader keeps them. */
  mode: number;
  size: number;
}

/**
 * Packs `source` the way `flux push artifact` does (fluxcd/pkg oci build + tar.Tar): a gzip-compressed
 * tar of the directory walked in lexical order from its root entry `.`, regular files and directories
 * only (symlinks and devices are left out), names relative to the root, permission bits as on disk, and
 * uid/gid 0, no user or group names and mtime 0 in USTAR headers written byte for byte as Go's
 * archive/tar writes them. Flux's default ignore patterns apply (VCS files, images, archives). A single
 * file is packed as Flux stages it: inside a root `.` of mode 0700. The tar is therefore identical to
 * Flux's; the gzip stream is not (zlib and Go's compress/flate compress differently), though its header
 * is Go's (no name, no time, OS unknown).
 */
export async function packFluxArtifact(source: string, outFile: string): Promise<PackedDirectory> {
  const info = await stat(source).catch(() => undefined);
  if (!info) throw new UsageError(`cannot read ${source}: no such file or directory`);
  const entries: Entry[] = [];
  if (info.isDirectory()) {
    entries.push({ name: ".", path: source, dir: true, mode: info.mode & 0o7777, size: 0 });
    await walk(source, [], entries);
  } else if (info.isFile()) {
    // os.MkdirTemp makes the staging directory 0700; the file keeps its own mode.
    entries.push({ name: ".", path: undefined, dir: true, mode: 0o700, size: 0 });
    const name = basename(source);
    if (!isIgnored([name], false))
      entries.push({ name, path: source, dir: false, mode: info.mode & 0o7777, size: info.size });
  } else throw new UsageError(`cannot push ${source}: not a file or directory`);
  for (const entry of entries) header(entry); // every name checked before anything is written

  const tarHash = createHash("sha256");
  const gzHash = createHash("sha256");
  let size = 0;
  await pipeline(
    Readable.from(archive(entries)),
    hashing(tarHash),
    createGzip(),
    anonymousGzipHeader(),
    hashing(gzHash, (n) => (size += n)),
    createWriteStream(outFile),
  );
  return { digest: `sha256:${gzHash.digest("hex")}`, size, tarDigest: `sha256:${tarHash.digest("hex")}` };
}

/** filepath.Walk's order: each directory's names sorted byte-wise, depth first, parents before children. */
async function walk(dir: string, parts: string[], out: Entry[]): Promise<void> {
  const names = (await readdir(dir)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const path = join(dir, name);
    const info = await lstat(path);
    const here = [...parts, name];
    if (!info.isFile() && !info.isDirectory()) continue; // symlinks, sockets, devices: Flux skips them
    // Flux's filter skips the ignored entry itself but still walks into an ignored directory; the
    // patterns then match its children through the directory's name, so the result is the same.
    if (!isIgnored(here, info.isDirectory())) {
      out.push({
        name: here.join("/"),
        path,
        dir: info.isDirectory(),
        mode: info.mode & 0o7777,
        size: info.isDirectory() ? 0 : info.size,
      });
    }
    if (info.isDirectory()) await walk(path, here, out);
  }
}

async function* archive(entries: Entry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield header(entry);
    if (entry.dir || entry.path === undefined) continue;
    let written = 0;
    for await (const chunk of createReadStream(entry.path)) {
      written += (chunk as Buffer).length;
      if (written > entry.size) break;
      yield chunk as Buffer;
    }
    if (written !== entry.size)
      throw new UsageError(`${entry.path} changed while it was being packed: push it again`);
    const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK); // Go's tar.Writer.Close: two zero blocks, no padding to a record
}

/** A USTAR header exactly as Go's archive/tar writes one for these fields. */
function header(entry: Entry): Buffer {
  let name = entry.name;
  let prefix = "";
  // Go writes PAX headers for names USTAR cannot hold; those are refused rather than written differently.
  if (!/^[\x20-\x7e]*$/.test(name))
    throw new UsageError(
      `cannot pack ${JSON.stringify(name)} in Flux's format: only ASCII names are supported`,
    );
  if (name.length > NAME_SIZE) {
    const split = splitUstarPath(name);
    if (!split) throw new UsageError(`cannot pack ${name} in Flux's format: the path is too long`);
    [prefix, name] = split;
  }
  if (entry.size > MAX_USTAR_SIZE) throw new UsageError(`cannot pack ${entry.name}: larger than 8 GiB`);
  const b = Buffer.alloc(BLOCK);
  field(b, 0, NAME_SIZE, name);
  octal(b, 100, 8, entry.mode);
  octal(b, 108, 8, 0); // uid
  octal(b, 116, 8, 0); // gid
  octal(b, 124, 12, entry.size);
  octal(b, 136, 12, 0); // mtime: Go writes the zero time as the epoch
  b[156] = (entry.dir ? "5" : "0").charCodeAt(0);
  field(b, 257, 6, "ustar\0");
  field(b, 263, 2, "00");
  octal(b, 329, 8, 0); // devmajor
  octal(b, 337, 8, 0); // devminor
  field(b, 345, PREFIX_SIZE, prefix);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  octal(b, 148, 7, sum);
  b[155] = 0x20; // Go: six digits, NUL, then a space
  return b;
}

/** Go's splitUSTARPath: a prefix of ≤155 bytes and a name of ≤100, split at a slash. */
function splitUstarPath(name: string): [string, string] | undefined {
  let length = name.length;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name[length - 1] === "/") length--;
  const i = name.slice(0, length).lastIndexOf("/");
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

/** Go's formatString: the bytes, then a NUL if there is room. */
function field(b: Buffer, offset: number, size: number, value: string): void {
  const n = b.write(value, offset, size, "latin1");
  if (n < size) b[offset + n] = 0;
}

/** Go's formatOctal: zero-padded octal digits leaving room for a terminating NUL. */
function octal(b: Buffer, offset: number, size: number, value: number): void {
  field(b, offset, size, value.toString(8).padStart(size - 1, "0"));
}
