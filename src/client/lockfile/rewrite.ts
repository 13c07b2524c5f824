import { chmod, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { tempName } from "../atomic.js";
import { hasPlaceholder } from "./placeholders.js";
import type { Resolved } from "./lock.js";
import type { ScannedFile } from "./scan.js";
import type { Edit } from "./types.js";

/** A reference `--write` left as written, and why. */
export interface Unpinned {
  where: string;
  reference: string;
  reason: string;
}

/**
 * Pins the references of each file in place (`repo:tag@sha256:…`), changing only their text: every
 * other byte, comments and formatting included, stays. A reference with context placeholders is left
 * as written, since its digest holds for one context only (the lock file has it). Each file is
 * replaced atomically, and only when something changed; pinning pinned files changes nothing.
 */
export async function pinFiles(
  files: readonly ScannedFile[],
  resolved: readonly Resolved[],
): Promise<{ changed: string[]; unpinned: Unpinned[] }> {
  const changed: string[] = [];
  const unpinned: Unpinned[] = [];
  for (const scanned of files) {
    const edits: Edit[] = [];
    for (const { found, resolution } of resolved.filter((r) => r.scanned === scanned)) {
      const where = `${scanned.shown}:${found.line}`;
      if (hasPlaceholder(found.reference) || hasPlaceholder(found.range ?? "")) {
        unpinned.push({ where, reference: found.reference, reason: "it has context placeholders" });
        continue;
      }
      const edit = found.pin?.({
        ...(resolution.tag ? { tag: resolution.tag } : {}),
        digest: resolution.digest,
      });
      if (!edit)
        unpinned.push({
          where,
          reference: found.reference,
          reason: "it cannot be pinned where it is written",
        });
      else edits.push(edit);
    }
    const text = applyEdits(scanned.text, edits);
    if (text !== scanned.text) {
      await replaceFile(scanned.file, text);
      changed.push(scanned.shown);
    }
  }
  return { changed, unpinned };
}

/**
 * Replaces a file's content atomically (temporary file + rename), keeping its mode, and through a
 * symbolic link the file it points at rather than the link.
 */
async function replaceFile(file: string, text: string): Promise<void> {
  const target = await realpath(file);
  const { mode } = await stat(target);
  const tmp = tempName(dirname(target));
  try {
    await writeFile(tmp, text, { flag: "wx", mode: mode & 0o777 });
    await chmod(tmp, mode & 0o777); // the umask may have narrowed it
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Applies non-overlapping edits (from the end, so earlier offsets stay valid); duplicates collapse. */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  const unique = new Map(edits.map((e) => [`${e.start} ${e.end}`, e]));
  const sorted = [...unique.values()].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Infinity;
  for (const edit of sorted) {
    if (edit.end > limit) continue; // overlaps one already applied: the same reference twice
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
    limit = edit.start;
  }
  return out;
}
