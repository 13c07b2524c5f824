import { readFile, readdir, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { scanHcl } from "./hcl-scan.js";
import type { FoundRef, Scanner } from "./types.js";
import { scanYaml } from "./yaml-scan.js";

/** Bounds on what one run reads: a deploy repository, not a disk. */
export const MAX_FILES = 10_000;
export const MAX_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_REFERENCES = 10_000;

const SCANNERS: Record<string, Scanner> = {
  ".yaml": scanYaml,
  ".yml": scanYaml,
  ".json": scanYaml, // JSON is YAML's flow syntax: one parser, with positions
  ".hcl": scanHcl,
  ".tf": scanHcl,
  ".tofu": scanHcl,
};
/** Not walked into: other tools' state and downloads. */
const SKIPPED_DIRS = new Set([".git", "node_modules", ".terraform"]);

export function scannerFor(file: string): Scanner | undefined {
  return SCANNERS[extname(file).toLowerCase()];
}

/**
 * The files FILE|DIR… name: a file as given (its extension must be one scanned), a directory walked
 * for *.yaml, *.yml, *.json, *.hcl, *.tf and *.tofu, without following links to directories. Sorted,
 * so that a lock file comes out the same every time.
 */
export async function collectFiles(
  paths: readonly string[],
  options: { exclude?: string; skipMissing?: boolean } = {},
): Promise<string[]> {
  const files = new Set<string>();
  const add = (file: string) => {
    if (file === options.exclude) return; // the lock file itself, when it sits among the files
    files.add(file);
    if (files.size > MAX_FILES)
      throw new UsageError(`more than ${MAX_FILES} files to scan; name the directories that hold references`);
  };
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info && options.skipMissing) continue;
    if (!info) throw new UsageError(`${path}: no such file or directory`);
    if (info.isDirectory()) await walk(resolve(path), add);
    else if (!scannerFor(path))
      throw new UsageError(`${path}: not a YAML, JSON, HCL or .tf file (by its extension)`);
    else add(resolve(path));
  }
  return [...files].sort();
}

async function walk(dir: string, add: (file: string) => void): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) await walk(path, add);
    } else if ((entry.isFile() || entry.isSymbolicLink()) && scannerFor(entry.name)) {
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) add(path);
    }
  }
}

/**
 * Reads and scans one file, its size checked before it is read. A file that is not UTF-8 (a Latin-1
 * comment) reads with U+FFFD in place of those bytes: fine for finding references, not for writing the
 * file back, so `notUtf8Line` says where the first such byte is.
 */
export async function scanFile(
  file: string,
  shownAs: string,
): Promise<{ text: string; notUtf8Line?: number; found: FoundRef[] }> {
  const scanner = scannerFor(file);
  if (!scanner) throw new UsageError(`${shownAs}: not a YAML, JSON, HCL or .tf file (by its extension)`);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`cannot read ${shownAs}`);
  if (info.size > MAX_FILE_BYTES)
    throw new UsageError(`${shownAs} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB; not scanned`);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    throw new UsageError(`cannot read ${shownAs}`);
  }
  const text = bytes.toString("utf8");
  const line = notUtf8Line(bytes, text);
  return { text, ...(line !== undefined ? { notUtf8Line: line } : {}), found: scanner(text, shownAs) };
}

/** The line of the first byte the UTF-8 text does not give back, if any. */
function notUtf8Line(bytes: Buffer, text: string): number | undefined {
  const back = Buffer.from(text, "utf8");
  if (back.equals(bytes)) return undefined;
  let line = 1;
  for (let at = 0; at < bytes.length && bytes[at] === back[at]; at++) if (bytes[at] === 0x0a) line++;
  return line;
}
