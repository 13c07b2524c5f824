import { relative, resolve } from "node:path";
import { ExitCode, WharfError } from "../errors.js";
import { entryKey, type LockEntry, type LockFile } from "./lockfile.js";
import { describe, resolveAll } from "./lock.js";
import type { ContextValues } from "./placeholders.js";
import type { LockResolver } from "./resolve.js";
import { isWithin, type ScannedFile } from "./scan.js";
import type { FoundRef } from "./types.js";

/** One way the files or the registry no longer agree with the lock. */
export interface Drift {
  status: "moved" | "vanished" | "added" | "removed";
  file: string;
  line: number;
  reference: string;
  range?: string;
  semverFilter?: string;
  /** The digest in the lock. */
  locked?: string;
  /** What the reference resolves to now (for `moved`). */
  now?: string;
  message: string;
}

/**
 * Compares the files and the registry with the lock: references added to or removed from the files
 * (matched by file, text and range, not line, so that an edit elsewhere in a file is not drift), tags
 * that now point elsewhere (or ranges that now choose another version), and tags or digests that are
 * gone. Any other failure (unreachable registry, bad credentials) is not drift: it is thrown.
 * `roots` are the FILE|DIR… scanned (absolute): the lock's entries for files outside them are not
 * checked, so that checking one file of a locked directory does not count the others as removed.
 */
export async function checkLock(
  lock: LockFile,
  files: readonly ScannedFile[],
  context: ContextValues,
  resolver: LockResolver,
  lockDir: string,
  roots: readonly string[],
): Promise<Drift[]> {
  const locked = new Map<string, LockEntry[]>();
  for (const entry of lock.references) {
    if (!roots.some((root) => isWithin(root, resolve(lockDir, entry.file)))) continue;
    const key = entryKey(entry);
    locked.set(key, [...(locked.get(key) ?? []), entry]);
  }
  const drift: Drift[] = [];
  const entryOf = new Map<FoundRef, LockEntry>();
  for (const scanned of files) {
    for (const found of scanned.found) {
      const entry = locked.get(entryKey({ file: scanned.key, ...found }))?.shift();
      if (entry) entryOf.set(found, entry);
      else {
        drift.push({
          ...what(scanned.shown, found.line, found),
          status: "added",
          message: `${scanned.shown}:${found.line}: ${describe(found)} is not in the lock`,
        });
      }
    }
  }
  for (const entries of locked.values()) {
    for (const entry of entries) {
      const shown = relative(process.cwd(), resolve(lockDir, entry.file)) || entry.file;
      drift.push({
        ...what(shown, entry.line, entry),
        status: "removed",
        locked: entry.digest,
        message: `${shown}:${entry.line}: ${describe(entry)} is in the lock but no longer in the file`,
      });
    }
  }

  // Re-resolve what is in both.
  const still = files.map((scanned) => ({ ...scanned, found: scanned.found.filter((f) => entryOf.has(f)) }));
  const { resolved, failures } = await resolveAll(still, context, resolver);
  for (const failure of failures) {
    if (failure.exitCode !== ExitCode.NotFound) throw new LockError(failure.message, failure.exitCode);
    const entry = entryOf.get(failure.found) as LockEntry;
    drift.push({
      ...what(failure.scanned.shown, failure.found.line, failure.found),
      status: "vanished",
      locked: entry.digest,
      message: `${failure.message} (locked ${entry.digest})`,
    });
  }
  for (const { scanned, found, resolution } of resolved) {
    const entry = entryOf.get(found) as LockEntry;
    if (resolution.digest === entry.digest) continue;
    drift.push({
      ...what(scanned.shown, found.line, found),
      status: "moved",
      locked: entry.digest,
      now: resolution.resolved,
      message: `${scanned.shown}:${found.line}: ${describe(found)} now resolves to ${resolution.resolved}, locked ${entry.digest}`,
    });
  }
  return drift.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
}

function what(file: string, line: number, ref: { reference: string; range?: string; semverFilter?: string }) {
  return {
    file,
    line,
    reference: ref.reference,
    ...(ref.range !== undefined ? { range: ref.range } : {}),
    ...(ref.semverFilter !== undefined ? { semverFilter: ref.semverFilter } : {}),
  };
}

/** A failure of the check itself, with the exit code of its cause. */
export class LockError extends WharfError {
  constructor(
    message: string,
    override readonly exitCode: number,
  ) {
    super(message);
  }
}
