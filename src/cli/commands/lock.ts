import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { ExitCode, UsageError } from "../../client/errors.js";
import { checkLock } from "../../client/lockfile/check.js";
import { buildLock, resolveAll, scanForLock } from "../../client/lockfile/lock.js";
import { readLock, writeLock, type LockFile } from "../../client/lockfile/lockfile.js";
import { parseContext } from "../../client/lockfile/placeholders.js";
import { LockResolver } from "../../client/lockfile/resolve.js";
import { pinFiles } from "../../client/lockfile/rewrite.js";
import { scanPaths } from "../../client/lockfile/scan.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";

interface LockOptions extends CommonOptions {
  context: string[];
  output: string;
  check?: boolean;
  write?: boolean;
}

export function registerLock(program: Command): void {
  const command = program
    .command("lock")
    .description(
      "Pin the OCI references of deployment files (YAML, JSON, HCL, .tf) to digests in a lock file",
    )
    .argument("[paths...]", "files and directories (walked for *.yaml, *.yml, *.json, *.hcl, *.tf, *.tofu)")
    .option("--context <key=value>", "value of ${context.KEY} placeholders; repeatable", collect, [])
    .option("-o, --output <file>", "the lock file (written; read by --check)", "wharf.lock")
    .option("--check", `re-resolve and compare with the lock file; exit ${ExitCode.Drift} on drift`)
    .option("--write", "also rewrite the references in the files as repo:tag@sha256:…");
  // Thousands of references are each one small request: more than the 2m of other metadata commands.
  withCommonOptions(command, { timeout: "10m" });
  examples(command, [
    "wharf lock deploy/ --context project_id=shop --context env_id=prod -o prod.lock",
    "wharf lock --check -o prod.lock          # in CI: exit 9 when a tag moved or vanished",
    "wharf lock --write charts/ modules/      # pin in place, comments and formatting kept",
    "wharf pull -f deploy/values.yaml --locked --lock prod.lock -o vendor/",
  ]);
  command.action(async (paths: string[], options: LockOptions) => {
    await runCommand(options, async (ctx) => {
      if (options.check && options.write) throw new UsageError("give --check or --write, not both");
      const context = parseContext(options.context);
      if (options.check) return check(ctx, paths, context, options.output);
      return lock(ctx, paths, context, options);
    });
  });
}

async function lock(
  ctx: Context,
  paths: string[],
  context: Record<string, string>,
  options: LockOptions,
): Promise<number> {
  const previous = await readLock(options.output).catch(() => undefined);
  let files = await scanForLock(paths, options.output);
  let outcome = await resolveAll(files, context, new LockResolver(ctx.client));
  if (outcome.failures.length === 0 && options.write) {
    const { changed, unpinned, refused } = await pinFiles(files, outcome.resolved, paths);
    if (refused.length > 0) {
      for (const r of refused) ctx.error(r.message);
      ctx.note(
        `--write refused for ${refused.length} file(s): no file rewritten, ${options.output} not written`,
      );
      if (ctx.json) ctx.printJson({ errors: refused.map((r) => ({ where: r.where, message: r.message })) });
      return refused[0]!.exitCode;
    }
    for (const u of unpinned) ctx.note(`${u.where}: ${u.reference} left as written: ${u.reason}`);
    if (changed.length > 0) ctx.note(`Pinned references in ${changed.join(", ")}`);
    // Lock what the files say now: the pinned text, resolved (by digest) again.
    files = await scanForLock(paths, options.output);
    outcome = await resolveAll(files, context, new LockResolver(ctx.client));
  }
  if (outcome.failures.length > 0) {
    for (const failure of outcome.failures) ctx.error(failure.message);
    ctx.note(`${options.output} not written: ${outcome.failures.length} reference(s) could not be resolved`);
    if (ctx.json)
      ctx.printJson({ errors: outcome.failures.map((f) => ({ where: f.where, message: f.message })) });
    return outcome.failures[0]!.exitCode;
  }
  const lockFile: LockFile = buildLock(paths, options.output, context, outcome.resolved, previous);
  await writeLock(options.output, lockFile);
  if (ctx.json) ctx.printJson(lockFile);
  else {
    for (const e of lockFile.references) ctx.print(`${e.file}:${e.line}  ${e.resolved}`);
    const fileCount = new Set(lockFile.references.map((e) => e.file)).size;
    ctx.note(
      `${lockFile.references.length} reference(s) in ${fileCount} file(s) locked in ${options.output}`,
    );
  }
  return ExitCode.Ok;
}

async function check(
  ctx: Context,
  paths: string[],
  overrides: Record<string, string>,
  lockPath: string,
): Promise<number> {
  const lockFile = await readLock(lockPath);
  const lockDir = dirname(resolve(lockPath));
  // Without FILE|DIR…, what was locked; relative to the lock file, wherever it is run from.
  const scanned = paths.length > 0 ? paths : lockFile.paths.map((p) => resolve(lockDir, p));
  const files = await scanPaths(scanned, lockPath, { skipMissing: paths.length === 0 });
  const context = { ...lockFile.context, ...overrides };
  const roots = scanned.map((p) => resolve(p));
  const drift = await checkLock(lockFile, files, context, new LockResolver(ctx.client), lockDir, roots);
  if (ctx.json) ctx.printJson({ lock: lockPath, ok: drift.length === 0, drift });
  else for (const d of drift) ctx.print(`${d.status}: ${d.message}`);
  if (drift.length === 0) {
    // No drift: every reference scanned is one locked entry, and no entry under the paths is missing.
    const checked = files.reduce((n, f) => n + f.found.length, 0);
    if (!ctx.json) ctx.note(`${checked} reference(s) match ${lockPath}`);
    return ExitCode.Ok;
  }
  if (!ctx.json) ctx.error(`${drift.length} reference(s) drifted from ${lockPath}; re-lock with wharf lock`);
  return ExitCode.Drift;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
