import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { Parser, Unpack, type ReadEntry } from "tar";
import { IntegrityError, UnsafeContentError, WharfError, errorMessage } from "./errors.js";

interface ArchiveEntry {
  path: string;
  type: string;
  linkpath?: string;
}

const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);
const MAX_LINK_DEPTH = 40;

/**
 * Extracts a tar (optionally gzip-compressed) into `dest`, refusing the whole archive if any entry is
 * absolute, climbs out with `..`, is a device or FIFO, is written through a symlink, or is a symlink or
 * hard link that resolves outside `dest`. The archive is checked completely before anything is written
 * (`open` is called twice), and the caller extracts into a staging directory so a failure leaves the
 * target as it was.
 */
export async function extractArchive(
  open: () => Promise<Readable>,
  dest: string,
  what: string,
): Promise<void> {
  const entries = await listArchive(await open(), what);
  checkEntries(entries, what);
  await unpackArchive(await open(), dest, what);
  await checkExtracted(dest, what);
}

/** Entries of an archive, without writing anything. */
export async function listArchive(source: Readable, what: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries.push({ path: entry.path, type: entry.type, linkpath: entry.linkpath });
        entry.resume();
      },
    });
    parser.on("error", (err: unknown) => reject(badArchive(what, err)));
    parser.on("end", () => resolve());
    source.on("error", (err: unknown) => reject(err));
    source.pipe(parser as unknown as NodeJS.WritableStream); // a Minipass-style writable, not a Node stream
  });
  return entries;
}

/** The checks of extractArchive, on a list of entries (exported for tests). */
export function checkEntries(entries: ArchiveEntry[], what: string): void {
  const links = new Map<string, string>();
  const paths: string[][] = [];
  for (const entry of entries) {
    if (!ALLOWED_TYPES.has(entry.type)) {
      throw unsafe(
        what,
        `${entry.path} is a ${entry.type} entry; only files, directories and links are extracted`,
      );
    }
    const parts = safeParts(entry.path, what);
    const key = parts.join("/");
    if (entry.type === "SymbolicLink") links.set(key, entry.linkpath ?? "");
    else links.delete(key);
    if (entry.type === "Link") {
      const target = safeParts(entry.linkpath ?? "", what, `hard link ${entry.path}`);
      if (target.length === 0) throw unsafe(what, `hard link ${entry.path} has no target`);
      paths.push(target);
    }
    paths.push(parts);
  }
  // Nothing may be written through a symlink: that is how archives reach outside the target.
  for (const parts of paths) {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (links.has(prefix))
        throw unsafe(what, `${parts.join("/")} would be written through symlink ${prefix}`);
    }
  }
  for (const [path, target] of links) {
    const parent = path.split("/").slice(0, -1);
    if (target.startsWith("/") || resolveInside(parent, target, links, 0) === null) {
      throw unsafe(what, `symlink ${path} -> ${target} points outside the target directory`);
    }
  }
}

/** Path components of an entry; refuses absolute paths, `..` and NUL. */
function safeParts(path: string, what: string, label = path): string[] {
  if (path.includes("\0")) throw unsafe(what, `${JSON.stringify(label)} contains a NUL byte`);
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\")) {
    throw unsafe(what, `${label} is an absolute path`);
  }
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw unsafe(what, `${label} climbs out of the target directory with ..`);
  return parts;
}

/**
 * Follows `target` from directory `base` through the archive's own symlinks, as the filesystem would
 * once everything is extracted; null if it leaves the root at any point.
 */
function resolveInside(
  base: string[],
  target: string,
  links: Map<string, string>,
  depth: number,
): string[] | null {
  if (depth > MAX_LINK_DEPTH || target.startsWith("/")) return null;
  let stack = [...base];
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (stack.length === 0) return null;
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = links.get(stack.join("/"));
    if (link !== undefined) {
      stack.pop();
      const resolved = resolveInside(stack, link, links, depth + 1);
      if (resolved === null) return null;
      stack = resolved;
    }
  }
  return stack;
}

async function unpackArchive(source: Readable, dest: string, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const unpack = new Unpack({
      cwd: dest,
      strict: true,
      preserveOwner: false,
      // node-tar's own guards stay on as a second line of defence.
      preservePaths: false,
      unlink: false,
    });
    unpack.on("error", (err: unknown) => reject(badArchive(what, err)));
    unpack.on("end", () => resolve());
    source.on("error", (err: unknown) => reject(err));
    source.pipe(unpack as unknown as NodeJS.WritableStream); // Minipass-style writable
  });
}

/** After extraction: only files, directories and symlinks, as checked (defence against parser surprises). */
async function checkExtracted(dir: string, what: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await checkExtracted(path, what);
    else if (!entry.isFile() && !entry.isSymbolicLink()) {
      const info = await lstat(path);
      throw unsafe(
        what,
        `extraction produced ${entry.name}, which is neither file nor directory (mode ${info.mode.toString(8)})`,
      );
    }
  }
}

function unsafe(what: string, reason: string): UnsafeContentError {
  return new UnsafeContentError(`refusing to extract ${what}: ${reason}`);
}

function badArchive(what: string, err: unknown): Error {
  if (err instanceof WharfError) return err;
  return new IntegrityError(`${what} is not a valid tar archive: ${errorMessage(err)}`, { cause: err });
}
