import { chmod, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { tempName } from "../atomic.js";
import { ExitCode } from "../errors.js";
import { hasPlaceholder } from "./placeholders.js";
import type { Resolved } from "./lock.js";
import { isWithin, type ScannedFile } from "./scan.js";
import type { Edit } from "./types.js";

/** A reference `--write` left as written, and why. */
export interface Unpinned {
  where: string;
  reference: string;
  reason: string;
}

/** A file `--write` would change but must not; when there is one, no file is written. */
export interface Refused {
  where: string;
  message: string;
  exitCode: number;
}

/**
 * Pins the references of each file in place (`repo:tag@sha256:…`), changing only their text: every
 * other byte, comments and formatting included, stays. A reference with context placeholders is left
 * as written, since its digest holds for one context only (the lock file has it). Each file is
 * replaced atomically, and only when something changed; pinning pinned files changes nothing.
 *
 * Every file to change is checked before any is written, and if one is refused none is: a file that is
 * not UTF-8 (its other bytes could not be kept), or one whose real path, through symbolic links, is
 * outside the real paths of `roots` (the FILE|DIR… given), since a link committed to a deploy
 * repository may point at any file the user running `--write` can write.
 */
export async function pinFiles(
  files: readonly ScannedFile[],
  resolved: readonly Resolved[],
  roots: readonly string[],
): Promise<{ changed: string[]; unpinned: Unpinned[]; refused: Refused[] }> {
  const unpinned: Unpinned[] = [];
  const planned: { scanned: ScannedFile; text: string }[] = [];
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
    if (text !== scanned.text) planned.push({ scanned, text });
  }

  const realRoots = await Promise.all(roots.map((root) => realpath(resolve(root))));
  const refused: Refused[] = [];
  const writes: { target: string; text: string; shown: string }[] = [];
  for (const { scanned, text } of planned) {
    if (scanned.notUtf8Line !== undefined) {
      refused.push({
        where: `${scanned.shown}:${scanned.notUtf8Line}`,
        message: `${scanned.shown}:${scanned.notUtf8Line}: not rewritten: the file is not UTF-8 (Latin-1?), and rewriting it would replace those bytes; convert it to UTF-8, or pin it by hand`,
        exitCode: ExitCode.Usage,
      });
      continue;
    }
    const target = await realpath(scanned.file);
    if (!realRoots.some((root) => isWithin(root, target))) {
      refused.push({
        where: scanned.shown,
        message: `${scanned.shown}: not rewritten: it links to ${target}, outside ${roots.join(", ")}; --write only writes files under the paths given`,
        exitCode: ExitCode.UnsafeContent,
      });
      continue;
    }
    writes.push({ target, text, shown: scanned.shown });
  }
  if (refused.length > 0) return { changed: [], unpinned, refused };

  for (const { target, text } of writes) await replaceFile(target, text);
  return { changed: writes.map((w) => w.shown), unpinned, refused };
}

/**
 * Replaces a file's content atomically (temporary file + rename), keeping its mode. `target` is a real
 * path: through a symbolic link, the file it points at is replaced, not the link.
 */
async function replaceFile(target: string, text: string): Promise<void> {
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
