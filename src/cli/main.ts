import { readFileSync } from "node:fs";
import { Command, Help, InvalidArgumentError, Option } from "commander";
import { stringify as toYaml } from "yaml";
import { ConfigError, loadServerConfig, printableConfig, settingsHelp, type ServerConfig } from "./config.js";
import { AddressInUseError, serve } from "./serve.js";
import { DatabaseUnavailableError } from "../metadata/database.js";
import { SchemaTooNewError } from "../metadata/migrations.js";
import { serverLogger } from "./server-log.js";
import { DataDirInUseError } from "./data-dir-lock.js";
import { registerPush } from "./commands/push.js";
import { registerPull } from "./commands/pull.js";
import { registerInfo } from "./commands/info.js";
import { registerLs } from "./commands/ls.js";
import { registerKinds } from "./commands/kinds.js";
import { registerSearch } from "./commands/search.js";
import { registerTags } from "./commands/tags.js";
import { registerTag } from "./commands/tag.js";
import { registerRm } from "./commands/rm.js";
import { registerLogin, registerLogout } from "./commands/login.js";
import { registerCache } from "./commands/cache.js";
import { registerCp } from "./commands/cp.js";
import { registerAttach } from "./commands/attach.js";
import { registerDiscover } from "./commands/discover.js";
import { registerWatch } from "./commands/watch.js";
import { registerLock } from "./commands/lock.js";
import { registerResolve } from "./commands/resolve.js";
import { registerSign } from "./commands/sign.js";
import { registerVerify } from "./commands/verify.js";
import { registerUser } from "./commands/admin/user.js";
import { registerToken } from "./commands/admin/token.js";
import { registerAccess } from "./commands/admin/access.js";
import { registerImmutable } from "./commands/admin/immutable.js";
import { registerTrust } from "./commands/admin/trust.js";
import { registerAudit } from "./commands/admin/audit.js";
import { registerStorage } from "./commands/admin/storage.js";
import { registerMove } from "./move.js";
import { registerKey } from "./commands/key.js";
import { registerGc } from "./commands/admin/lifecycle/gc.js";
import { registerRetention } from "./commands/admin/lifecycle/retention.js";
import { registerQuota } from "./commands/admin/lifecycle/quota.js";
import { registerDu } from "./commands/admin/lifecycle/du.js";
import { escapeControl } from "./commands/common/format.js";

const EXIT_USAGE = 2;
// dist/cli/main.js and src/cli/main.ts both sit two levels below package.json.
const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command()
  .name("wharf")
  .description("Wharf: an OCI artifact registry and its client")
  .version(version, "-V, --version", "print the version")
  .showHelpAfterError()
  .configureHelp({ optionDescription: plainDefault })
  .exitOverride((err) => process.exit(err.exitCode === 1 ? EXIT_USAGE : err.exitCode));

/**
 * Help shows defaults as they are typed (`default: .`, `default: 10m`), not as JSON (`"."`), and no
 * `default: []` for repeatable options.
 */
function plainDefault(this: Help, option: Option): string {
  const value: unknown = option.defaultValue;
  let override: Partial<Option> | undefined;
  if (option.defaultValueDescription === undefined && typeof value === "string")
    override = { defaultValueDescription: value };
  else if (Array.isArray(value) && value.length === 0) override = { defaultValue: undefined };
  const shown = override
    ? Object.assign(Object.create(Object.getPrototypeOf(option) as object) as Option, option, override)
    : option;
  return Help.prototype.optionDescription.call(this, shown);
}

program
  .command("serve")
  .description("Run the registry server")
  .option("-c, --config <file>", "YAML configuration file (also WHARF_CONFIG)")
  .option("-l, --listen <host:port>", "address to listen on (also WHARF_LISTEN; default 127.0.0.1:5000)")
  .option(
    "-d, --data-dir <dir>",
    "where metadata and blobs live (also WHARF_DATA_DIR; default ~/.local/share/wharf)",
  )
  .option(
    "-w, --workers <n>",
    "server processes sharing the address (also WHARF_WORKERS; default: one per CPU)",
  )
  .addOption(
    new Option(
      "--print-config [format]",
      "print the effective configuration (yaml or json; secrets masked) and exit",
    ).choices(["yaml", "json"]),
  )
  .addHelpText(
    "after",
    `
Settings (flags over environment over configuration file over defaults):
${settingsHelp()}

Examples:
  wharf serve                                  # 127.0.0.1:5000, data in ~/.local/share/wharf
  wharf serve --listen 0.0.0.0:5000 --data-dir /var/lib/wharf
  WHARF_LOG_LEVEL=debug wharf serve --config wharf.yaml
  wharf serve --config wharf.yaml --print-config   # what the server would run with`,
  )
  .action(async (options: ServeOptions) => {
    const format = options.printConfig === true ? "yaml" : options.printConfig;
    let config: ServerConfig;
    try {
      config = await loadServerConfig({
        file: options.config,
        env: process.env,
        flags: { listen: options.listen, dataDir: options.dataDir, workers: options.workers },
      });
    } catch (err) {
      // Every message of `wharf serve` on stderr is a JSON line, even before the configured log exists.
      serverLogger("info").fatal(errorMessage(err));
      process.exit(err instanceof ConfigError || err instanceof InvalidArgumentError ? EXIT_USAGE : 1);
    }
    if (format !== undefined) {
      const printable = printableConfig(config);
      process.stdout.write(format === "json" ? `${JSON.stringify(printable, null, 2)}\n` : toYaml(printable));
      return;
    }
    try {
      await serve(config);
    } catch (err) {
      const log = serverLogger(config.logLevel);
      if (err instanceof DataDirInUseError) {
        log.fatal(
          { dataDir: err.dataDir, holder: err.holder },
          `${err.message}: stop it first, or give this server another --data-dir (WHARF_DATA_DIR)`,
        );
      } else if (
        err instanceof ConfigError ||
        err instanceof AddressInUseError ||
        err instanceof DatabaseUnavailableError ||
        err instanceof SchemaTooNewError
      ) {
        // Expected start-up failures say what to do; a stack trace would only bury that.
        log.fatal(err.message);
      } else {
        log.fatal({ err }, "wharf serve could not start");
      }
      process.exit(err instanceof ConfigError ? EXIT_USAGE : 1);
    }
  });

interface ServeOptions {
  config?: string;
  listen?: string;
  dataDir?: string;
  workers?: string;
  printConfig?: "yaml" | "json" | true;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

registerPush(program);
registerPull(program);
registerInfo(program);
registerLs(program);
registerSearch(program);
registerKinds(program);
registerTags(program);
registerResolve(program);
registerTag(program);
registerRm(program);
registerLogin(program);
registerLogout(program);
registerCache(program);
registerCp(program);
registerAttach(program);
registerDiscover(program);
registerWatch(program);
registerLock(program);
registerSign(program);
registerVerify(program);
registerUser(program);
registerToken(program);
registerAccess(program);
registerImmutable(program);
registerTrust(program);
registerAudit(program);
registerStorage(program);
registerMove(program);
registerKey(program);
registerGc(program);
registerRetention(program);
registerQuota(program);
registerDu(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`wharf: ${escapeControl(err instanceof Error ? err.message : String(err))}\n`);
  process.exit(err instanceof ConfigError ? EXIT_USAGE : 1);
});
