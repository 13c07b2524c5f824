import type { Command } from "commander";
import { UsageError } from "../../../client/errors.js";
import { withCommonOptions, type CommonOptions } from "../common/context.js";
import type { RegistryOption } from "./api.js";

/**
 * Where an admin command that also works without accounts (immutable rules, trust) does its work: a
 * running registry's admin API (`--registry`), or its database (`--data-dir`, `--server-config`).
 */
export interface AdminTargetOptions extends CommonOptions, RegistryOption {
  dataDir?: string;
  serverConfig?: string;
}

export function withAdminTarget(
  command: Command,
  common: Parameters<typeof withCommonOptions>[1] = {},
): Command {
  command
    .option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)")
    .option("--data-dir <dir>", "work on this data directory's database instead of a running registry")
    .option("--server-config <file>", "work on the database this server configuration names");
  withCommonOptions(command, common);
  return command;
}

/** True for the database, false for the admin API; both named is a usage error. */
export function targetsDatabase(options: AdminTargetOptions): boolean {
  if (options.dataDir !== undefined && options.serverConfig !== undefined) {
    throw new UsageError("give --data-dir or --server-config, not both");
  }
  return options.dataDir !== undefined || options.serverConfig !== undefined;
}
