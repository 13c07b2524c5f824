import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { UsageError } from "../errors.js";
import { MAX_REFERENCES, collectFiles, scanFile } from "./files.js";
import type { FoundRef } from "./types.js";

/** The references of one file. */
export interface ScannedFile {
  /** Absolute path. */
  file: string;
  /** Relative to the lock file's directory, with `/`: how the lock names it. */
  key: string;
  /** Relative to the working directory: how messages name it. */
  shown: string;
  text: string;
  /** Set when the file is not UTF-8: the first line that is not, and `text` cannot be written back. */
  notUtf8Line?: number;
  found: FoundRef[];
}

/**
 * Scans FILE|DIR… for references; a file that does not parse is an error naming it. With `skipMissing`
 * (`--check` of the paths a lock names), a path that is gone counts as none of its references left.
 */
export async function scanPaths(
  paths: readonly string[],
  lockPath: string,
  options: { skipMissing?: boolean } = {},
): Promise<ScannedFile[]> {
  const lockDir = dirname(resolve(lockPath));
  const files = await collectFiles(paths, { exclude: resolve(lockPath), ...options });
  const out: ScannedFile[] = [];
  let total = 0;
  for (const file of files) {
    const shown = relative(process.cwd(), file) || file;
    const { text, notUtf8Line, found } = await scanFile(file, shown);
    total += found.length;
    if (total > MAX_REFERENCES)
      throw new UsageError(`more than ${MAX_REFERENCES} references in the files named; lock fewer at a time`);
    out.push({
      file,
      key: lockKey(lockDir, file),
      shown,
      text,
      ...(notUtf8Line !== undefined ? { notUtf8Line } : {}),
      found,
    });
  }
  return out;
}

export function lockKey(lockDir: string, file: string): string {
  return relative(lockDir, file).split(sep).join("/");
}

/** `path` is `root` itself or below it (both absolute and normalized). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}
