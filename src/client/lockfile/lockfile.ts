import { readFile } from "node:fs/promises";
import { UsageError } from "../errors.js";
import { writeFileAtomic } from "../atomic.js";

export const LOCK_VERSION = 1;

/** One reference of one file, pinned. */
export interface LockEntry {
  /** The file, relative to the lock file's directory, with `/` separators. */
  file: string;
  line: number;
  /** Where in the document (`spec.url`, `module.app.source`). */
  path: string;
  /** As written: placeholders kept, without `oci://`; for a range, the repository alone. */
  reference: string;
  range?: string;
  /** Flux's `ref.semverFilter`, when the range had one. */
  semverFilter?: string;
  /** host/repo:tag@sha256:… (host/repo@sha256:… for a digest-only reference). */
  resolved: string;
  digest: string;
  /** The artifact kind, as `wharf info` names it (`container-image`, `helm-chart` …). */
  kind: string;
  /** When the digest was resolved (kept across re-locks while it does not change). */
  resolvedAt: string;
}

/** wharf.lock: JSON, entries sorted by file and line, so that re-locking unchanged files changes nothing. */
export interface LockFile {
  version: number;
  /** The FILE|DIR arguments, relative to the lock file's directory: what `--check` scans again. */
  paths: string[];
  /** The `--context` values the references were resolved with. */
  context: Record<string, string>;
  references: LockEntry[];
}

export async function readLock(path: string): Promise<LockFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UsageError(`cannot read lock file ${path} (write one with wharf lock FILE|DIR…)`);
  }
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not a wharf lock file (not JSON)`);
  }
  if (!isLock(lock)) throw new UsageError(`${path} is not a wharf lock file`);
  if (lock.version !== LOCK_VERSION)
    throw new UsageError(
      `${path} is lock file version ${lock.version}; this wharf reads version ${LOCK_VERSION}`,
    );
  return lock;
}

function isLock(value: unknown): value is LockFile {
  if (!value || typeof value !== "object") return false;
  const lock = value as Partial<LockFile>;
  return (
    typeof lock.version === "number" &&
    Array.isArray(lock.paths) &&
    lock.paths.every((p) => typeof p === "string") &&
    !!lock.context &&
    typeof lock.context === "object" &&
    Object.values(lock.context).every((v) => typeof v === "string") &&
    Array.isArray(lock.references) &&
    lock.references.every(
      (e: Partial<LockEntry>) =>
        typeof e.file === "string" &&
        typeof e.reference === "string" &&
        typeof e.resolved === "string" &&
        typeof e.digest === "string" &&
        (e.range === undefined || typeof e.range === "string") &&
        (e.semverFilter === undefined || typeof e.semverFilter === "string"),
    )
  );
}

export async function writeLock(path: string, lock: LockFile): Promise<void> {
  const references = [...lock.references].sort(
    (a, b) => compare(a.file, b.file) || a.line - b.line || compare(a.path, b.path),
  );
  const context = Object.fromEntries(Object.entries(lock.context).sort(([a], [b]) => compare(a, b)));
  await writeFileAtomic(path, `${JSON.stringify({ ...lock, context, references }, null, 2)}\n`);
}

/** Identifies a reference across edits that move lines: the file, what is written, and its range. */
export function entryKey(e: {
  file: string;
  reference: string;
  range?: string;
  semverFilter?: string;
}): string {
  return JSON.stringify([e.file, e.reference, e.range ?? null, e.semverFilter ?? null]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
