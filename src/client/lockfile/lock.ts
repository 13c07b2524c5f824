import { dirname, resolve } from "node:path";
import { ExitCode, UsageError, WharfError, errorMessage } from "../errors.js";
import { mapLimit } from "../limit.js";
import { entryKey, type LockEntry, type LockFile, LOCK_VERSION } from "./lockfile.js";
import { substitute, type ContextValues } from "./placeholders.js";
import type { LockResolver, Resolution } from "./resolve.js";
import { lockKey, scanPaths, type ScannedFile } from "./scan.js";
import type { FoundRef } from "./types.js";

/** A reference that could not be resolved, named by file and line. */
export interface LockFailure {
  where: string;
  message: string;
  exitCode: number;
}

export interface Located {
  scanned: ScannedFile;
  found: FoundRef;
}

export interface Resolved extends Located {
  resolution: Resolution;
}

const CONCURRENCY = 8;

/** Every reference of the files, each with its outcome: resolved, or why not. */
export async function resolveAll(
  files: readonly ScannedFile[],
  context: ContextValues,
  resolver: LockResolver,
): Promise<{ resolved: Resolved[]; failures: (LockFailure & Located)[] }> {
  const items: Located[] = files.flatMap((scanned) => scanned.found.map((found) => ({ scanned, found })));
  const outcomes = await mapLimit(items, CONCURRENCY, async (item) => {
    const where = `${item.scanned.shown}:${item.found.line}`;
    try {
      const reference = substitute(item.found.reference, context, where);
      const range = item.found.range === undefined ? undefined : substitute(item.found.range, context, where);
      const policy = { semverFilter: item.found.semverFilter, helm: item.found.helm };
      return { ...item, resolution: await resolver.resolve(reference, range, policy) };
    } catch (err) {
      const message = errorMessage(err);
      const exitCode = err instanceof WharfError ? err.exitCode : ExitCode.Failure;
      const shown = message.startsWith(where) ? message : `${where}: ${describe(item.found)}: ${message}`;
      return { ...item, where, message: shown, exitCode };
    }
  });
  return {
    resolved: outcomes.filter((o): o is Resolved => "resolution" in o),
    failures: outcomes.filter((o): o is LockFailure & Located => "exitCode" in o),
  };
}

/** The lock for these resolutions; entries whose digest did not change keep their `resolvedAt`. */
export function buildLock(
  paths: readonly string[],
  lockPath: string,
  context: ContextValues,
  resolved: readonly Resolved[],
  previous: LockFile | undefined,
): LockFile {
  const lockDir = dirname(resolve(lockPath));
  const before = new Map<string, LockEntry>();
  for (const e of previous?.references ?? []) before.set(`${entryKey(e)} ${e.digest}`, e);
  const now = new Date().toISOString();
  const references = resolved.map(({ scanned, found, resolution }): LockEntry => {
    const entry = {
      file: scanned.key,
      line: found.line,
      path: found.path,
      reference: found.reference,
      ...(found.range !== undefined ? { range: found.range } : {}),
      ...(found.semverFilter !== undefined ? { semverFilter: found.semverFilter } : {}),
      resolved: resolution.resolved,
      digest: resolution.digest,
      kind: resolution.kind,
    };
    const kept = before.get(`${entryKey(entry)} ${entry.digest}`);
    return { ...entry, resolvedAt: kept?.resolvedAt ?? now };
  });
  return {
    version: LOCK_VERSION,
    paths: paths.map((p) => lockKey(lockDir, resolve(p)) || "."),
    context: { ...context },
    references,
  };
}

export async function scanForLock(paths: readonly string[], lockPath: string): Promise<ScannedFile[]> {
  if (paths.length === 0) throw new UsageError("name the files or directories to lock: wharf lock FILE|DIR…");
  const files = await scanPaths(paths, lockPath);
  if (files.every((f) => f.found.length === 0)) {
    throw new UsageError(
      `${paths.join(", ")}: no OCI references found (looked for oci://… URLs, image: values, Helm and Flux sources, module sources and host/repo:tag strings)`,
    );
  }
  return files;
}

export function describe(found: { reference: string; range?: string; semverFilter?: string }): string {
  if (found.range === undefined) return found.reference;
  const filter = found.semverFilter === undefined ? "" : ` (tags matching ${found.semverFilter})`;
  return `${found.reference} ${found.range}${filter}`;
}
