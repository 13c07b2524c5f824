import { realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { ExitCode, UsageError, WharfError } from "../client/errors.js";
import { DatabaseUnavailableError } from "../metadata/database.js";
import { readLegacyKey } from "../auth/keys.js";
import { moveRegistry, MoveRefusedError, type MoveReport } from "../registry/move.js";
import { openBlobStore, openMetadata, usesDataDir } from "./backends.js";
import { ConfigError, loadServerConfig, maskUrlPassword, type ServerConfig } from "./config.js";
import { createPrivateDataDir } from "./data-dir.js";
import { DataDirInUseError, describeHolder, lockDataDir, type DataDirLock } from "./data-dir-lock.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./commands/common/context.js";
import { formatBytes, table } from "./commands/common/format.js";

interface MoveOptions extends CommonOptions {
  from?: string;
  config?: string;
  dataDir?: string;
  verifyExisting?: boolean;
}

/** Where older versions kept the token signing key (see loadOrCreateSigningKey). */
const LEGACY_SIGNING_KEY = join("auth", "token-signing-key.json");

export function registerMove(program: Command): void {
  const move = program
    .command("move")
    .description(
      "Copy everything an embedded registry holds (SQLite metadata and filesystem blobs in a data " +
        "directory) into the backends a configuration names, e.g. PostgreSQL and S3; every blob is " +
        "re-hashed on the way. Resumable: run it again after an interruption",
    )
    .requiredOption("--from <dir>", "the embedded registry's data directory (no server may run on it)")
    .option("-c, --config <file>", "the target's configuration, as the nodes run with (also WHARF_CONFIG)")
    .option(
      "-d, --data-dir <dir>",
      "the target's data directory (also WHARF_DATA_DIR), for filesystem and sqlite targets",
    )
    .option("--verify-existing", "re-hash blobs the target already has instead of trusting their size");
  withCommonOptions(move, { network: false });
  examples(move, [
    "wharf move --from /var/lib/wharf --config /etc/wharf/wharf.yaml",
    "WHARF_METADATA_DRIVER=postgres WHARF_METADATA_URL=postgres://wharf@db/wharf \\",
    "  WHARF_STORAGE_DRIVER=s3 WHARF_S3_BUCKET=registry wharf move --from /var/lib/wharf",
    "wharf move --from /var/lib/wharf --config wharf.yaml --json | jq .blobs",
  ]);
  move.action(async (options: MoveOptions) => {
    await runCommand(options, async (ctx) => {
      const from = await sourceDir(options.from ?? "");
      const target = await targetConfig(options);
      if (usesDataDir(target) && (await samePath(target.dataDir, from))) {
        throw new UsageError(
          `the target (${target.metadataDriver} + ${target.storageDriver}) lives in ${from}, the source: ` +
            "name other backends (metadata.driver: postgres, storage.driver: s3) or another --data-dir",
        );
      }
      const locks: DataDirLock[] = [];
      try {
        locks.push(lock(from));
        if (usesDataDir(target)) {
          await createPrivateDataDir(target.dataDir);
          locks.push(lock(target.dataDir));
        }
        const report = await run(from, target, options, ctx.progress);
        ctx.progress?.stop();
        if (ctx.json) ctx.printJson(report);
        else printReport(ctx, report);
        if (report.problemCount > 0) {
          ctx.error(
            `${report.problemCount} source blob(s) could not be moved: ` +
              report.problems.map((p) => `${p.digest} (${p.problem}: ${p.detail})`).join(", ") +
              "; repair them (wharf storage verify on the old registry, then push them again) and rerun",
          );
          return ExitCode.Integrity;
        }
        if (report.mismatches.length > 0) {
          ctx.error(`the target does not hold everything moved: ${report.mismatches.join("; ")}`);
          return ExitCode.Failure;
        }
      } finally {
        for (const held of locks.reverse()) held.release();
      }
    });
  });
}

async function sourceDir(dir: string): Promise<string> {
  const path = resolve(dir);
  try {
    await stat(join(path, "metadata.db"));
  } catch {
    throw new UsageError(`--from ${dir}: no embedded registry there (no metadata.db)`);
  }
  return realpath(path);
}

async function targetConfig(options: MoveOptions): Promise<ServerConfig> {
  try {
    return await loadServerConfig({
      file: options.config,
      env: process.env,
      flags: { dataDir: options.dataDir },
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

async function samePath(a: string, b: string): Promise<boolean> {
  const real = async (p: string) => realpath(p).catch(() => resolve(p));
  return (await real(a)) === (await real(b));
}

function lock(dir: string): DataDirLock {
  try {
    return lockDataDir(dir);
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      throw new WharfError(`${dir} is in use by ${describeHolder(err.holder)}: stop it before moving`);
    }
    throw err;
  }
}

async function run(
  from: string,
  target: ServerConfig,
  options: MoveOptions,
  progress: Parameters<typeof moveRegistry>[2]["progress"],
): Promise<MoveReport> {
  // The source opens through the same code a node uses: an older data directory is migrated first.
  const sourceConfig: ServerConfig = {
    ...target,
    dataDir: from,
    metadataDriver: "sqlite",
    storageDriver: "filesystem",
  };
  const sourceDb = await openMetadata(sourceConfig, { migrate: true });
  try {
    const targetDb = await openMetadata(target, { migrate: true }).catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      // An unreachable PostgreSQL names where already (never with the password).
      if (err instanceof DatabaseUnavailableError) throw new WharfError(`the target: ${reason}`);
      const where =
        target.metadataDriver === "postgres" ? ` ${maskUrlPassword(target.metadataUrl ?? "")}` : "";
      throw new WharfError(`cannot open the target's metadata database${where}: ${reason}`);
    });
    try {
      return await moveRegistry(
        { db: sourceDb, store: await openBlobStore(sourceConfig) },
        { db: targetDb, store: await openBlobStore(target) },
        {
          sourceId: from,
          verifyExisting: options.verifyExisting === true,
          legacySigningKey: await legacySigningKey(from),
          progress,
        },
      );
    } finally {
      await targetDb.destroy();
    }
  } catch (err) {
    if (err instanceof MoveRefusedError) throw new WharfError(err.message);
    throw err;
  } finally {
    await sourceDb.destroy();
  }
}

/**
 * The token signing key of a data directory last served by a Wharf that kept it in a file (before it
 * moved into the database), as JSON, or undefined when there is none.
 */
async function legacySigningKey(from: string): Promise<string | undefined> {
  const legacy = await readLegacyKey(join(from, LEGACY_SIGNING_KEY));
  return legacy === undefined ? undefined : JSON.stringify(legacy);
}

function printReport(ctx: { print(text: string): void; note(text: string): void }, report: MoveReport) {
  const b = report.blobs;
  ctx.print(
    `Blobs: ${b.copied} copied (${formatBytes(b.bytesCopied)}), ${b.skipped} already there` +
      `${b.verified > 0 ? ` (${b.verified} re-hashed)` : ""}, ${report.problems.length} not moved; ` +
      `${b.total} in all (${formatBytes(b.totalBytes)})`,
  );
  ctx.print(
    table([
      ["TABLE", "SOURCE", "INSERTED", "TARGET"],
      ...report.tables.map((t) => [t.table, String(t.source), String(t.inserted), String(t.target)]),
    ]),
  );
  if (report.uploadsLeft > 0) {
    ctx.note(`${report.uploadsLeft} unfinished upload(s) were not moved: clients restart them.`);
  }
  if (report.legacySigningKeyMoved) {
    ctx.note("The token signing key in auth/token-signing-key.json was moved into the target database.");
  }
  if (report.ok) ctx.print(`Moved ${report.source}: every row and blob verified in the target.`);
}
