import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ExitCode, UsageError, WharfError, errorMessage } from "../../client/errors.js";
import { scanFile } from "../../client/lockfile/files.js";
import { entryKey, readLock, type LockEntry } from "../../client/lockfile/lockfile.js";
import { hasPlaceholder } from "../../client/lockfile/placeholders.js";
import { lockKey } from "../../client/lockfile/scan.js";
import { formatReference, parseRegistryReference, type RegistryReference } from "../../client/reference.js";
import { findReferences, type FoundReference } from "../../client/refs-file.js";
import { resolveTag } from "../../client/resolve.js";
import { TagPolicyError, type TagPolicy } from "../../oci/tag-policy/index.js";
import type { Context } from "./common/context.js";
import { pullOne } from "./pull.js";
import type { TrustedKey } from "../../oci/signatures/index.js";

interface Outcome {
  reference: string;
  path: string;
  output?: string;
  digest?: string;
  files?: string[];
  offline?: boolean;
  error?: { message: string; exitCode: number };
}

/**
 * `wharf pull -f FILE`: pulls every OCI reference the file declares, each into
 * DIR/<registry-host>/<repository>/<tag or digest> (so that the same repository path on two registries
 * never mixes), going on after a failure and exiting with the first failure's code. A file without a
 * single reference is an error: it is almost surely the wrong file.
 */
export async function pullFromFile(
  ctx: Context,
  file: string,
  options: {
    output: string;
    refresh?: boolean;
    platform?: string;
    locked?: boolean;
    lock?: string;
    /** `--verify-key`: each reference is verified before it is pulled (see pullOne). */
    trusted?: TrustedKey[];
  },
): Promise<number> {
  let targets: Target[];
  if (options.locked) targets = await lockedTargets(file, options.lock ?? "wharf.lock");
  else {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      throw new UsageError(`cannot read ${file}`);
    }
    targets = findReferences(text, file).map((item) => ({
      item,
      ref: () => resolveFound(ctx, item),
    }));
  }
  if (targets.length === 0) {
    throw new UsageError(
      `${file} declares no OCI references (looked for oci://… URLs, image: values and host/repo:tag strings)`,
    );
  }
  const outcomes: Outcome[] = [];
  for (const { item, ref: target } of targets) {
    const outcome: Outcome = { reference: item.reference, path: item.path };
    try {
      const ref = await target();
      outcome.reference = formatReference(ref);
      // A locked pull goes where the unlocked one would (by tag), but fetches the locked digest.
      outcome.output = join(
        options.output,
        ref.registry,
        ref.repository,
        (ref.tag ?? ref.digest ?? "latest").replace(":", "-"),
      );
      const result = await pullOne(ctx, outcome.reference, { ...options, output: outcome.output });
      Object.assign(outcome, { digest: result.digest, files: result.files, offline: result.offline });
    } catch (err) {
      const exitCode = err instanceof WharfError ? err.exitCode : ExitCode.Failure;
      outcome.error = { message: errorMessage(err), exitCode };
      if (!ctx.json) ctx.error(`${item.path}: ${errorMessage(err)}`);
    }
    outcomes.push(outcome);
  }
  const failed = outcomes.filter((o) => o.error);
  if (ctx.json) ctx.printJson({ file, results: outcomes });
  else {
    for (const o of outcomes) if (o.digest) ctx.print(`${o.digest}  ${o.reference}`);
    ctx.note(`${outcomes.length - failed.length} of ${outcomes.length} reference(s) from ${file} pulled`);
  }
  return failed[0]?.error?.exitCode ?? ExitCode.Ok;
}

/** What to pull for one reference of the file, worked out when its turn comes. */
interface Target {
  item: FoundReference;
  ref: () => Promise<RegistryReference>;
}

/**
 * `--locked`: the lock file's digest for each of the file's references (matched by file, as written, and
 * range). Every reference must be there, or nothing is pulled: a partial vendor directory from a stale
 * lock is worse than none.
 */
async function lockedTargets(file: string, lockPath: string): Promise<Target[]> {
  const lock = await readLock(lockPath);
  const key = lockKey(dirname(resolve(lockPath)), resolve(file));
  const { found } = await scanFile(resolve(file), file);
  const entries = new Map(lock.references.map((e) => [entryKey(e), e]));
  const missing = found.filter((f) => !entries.has(entryKey({ file: key, ...f })));
  if (missing.length > 0) {
    const list = missing.map(
      (f) => `${file}:${f.line} ${f.range ? `${f.reference} ${f.range}` : f.reference}`,
    );
    throw new UsageError(
      `${list.length} reference(s) are not in ${lockPath}: ${list.join("; ")}; run wharf lock to pin them`,
    );
  }
  const seen = new Set<string>();
  const targets: Target[] = [];
  for (const f of found) {
    const entry = entries.get(entryKey({ file: key, ...f })) as LockEntry;
    if (seen.has(entry.resolved)) continue;
    seen.add(entry.resolved);
    const item = { reference: entry.resolved, path: f.path };
    targets.push({ item, ref: async () => pinnedRef(entry) });
  }
  return targets;
}

function pinnedRef(entry: LockEntry): RegistryReference {
  const ref = parseRegistryReference(entry.resolved);
  if (ref.digest !== entry.digest)
    throw new UsageError(
      `lock entry ${entry.file}:${entry.line}: ${entry.resolved} is not pinned to ${entry.digest}`,
    );
  return ref;
}

/** Turns a found reference into one to pull; a semver range picks the highest matching tag. */
async function resolveFound(ctx: Context, item: FoundReference): Promise<RegistryReference> {
  if (hasPlaceholder(item.reference) || hasPlaceholder(item.range ?? "")) {
    throw new UsageError(
      `${item.reference} has context placeholders: lock it with wharf lock --context KEY=VALUE, then pull -f --locked`,
    );
  }
  const ref = ctx.client.parse(item.reference);
  if (ref.kind !== "registry") throw new UsageError(`${item.reference} is not a registry reference`);
  if (!item.range) return ref;
  const policy: TagPolicy = {
    semver: item.range,
    ...(item.semverFilter !== undefined ? { semverFilter: item.semverFilter } : {}),
    ...(item.helm ? { helm: true } : {}),
  };
  try {
    // The same choice as `wharf resolve` and `wharf lock` (offline: among the tags the cache knows).
    const chosen = await resolveTag(ctx.client, { ...ref, tag: undefined, digest: undefined }, policy, {
      cache: ctx.cache(),
    });
    return { ...ref, tag: chosen.tag };
  } catch (err) {
    if (err instanceof TagPolicyError) throw new UsageError(`${item.path}: ${err.message}`);
    throw err;
  }
}
