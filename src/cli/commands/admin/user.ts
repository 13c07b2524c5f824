import type { Command } from "commander";
import { UsageError } from "../../../client/errors.js";
import { Accounts, type UserInfo } from "../../../auth/accounts.js";
import { AccountError } from "../../../auth/errors.js";
import type { Db } from "../../../metadata/database.js";
import { openMetadata } from "../../backends.js";
import { ConfigError, loadServerConfig, type ServerConfig } from "../../config.js";
import { putSetting } from "../../../metadata/settings.js";
import { AuditLog } from "../../../registry/audit.js";
import { pino } from "pino";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "../common/context.js";
import { table } from "../common/format.js";
import { prompt, readStdin } from "../common/prompt.js";
import { AdminApi, type RegistryOption } from "./api.js";
import { preparePrivateDataDir } from "../../data-dir.js";

interface UserOptions extends CommonOptions, RegistryOption {
  admin?: boolean;
  passwordStdin?: boolean;
  dataDir?: string;
  serverConfig?: string;
}

export function registerUser(program: Command): void {
  const user = program.command("user").description("Manage a Wharf registry's users (administrators only)");
  examples(user, [
    "wharf user add alice --admin --data-dir /var/lib/wharf   # the first administrator, before serve",
    "wharf login registry.example.com -u alice                # then, as that administrator:",
    "wharf user add bob --registry registry.example.com",
    "wharf user ls --registry registry.example.com",
    "wharf user passwd bob --registry registry.example.com",
    "wharf user rm bob --registry registry.example.com",
  ]);

  const add = user
    .command("add")
    .description("Add a user; with --data-dir, directly in a data directory (to create the first admin)")
    .argument("<name>", "user name: lower-case letters, digits, '.', '_', '-'")
    .option("--admin", "make the user an administrator")
    .option("--password-stdin", "read the password from stdin instead of prompting")
    .option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)")
    .option("--data-dir <dir>", "work on this data directory instead of a running registry (bootstrap)")
    .option(
      "--server-config <file>",
      "work on the database this server configuration names (metadata.url; bootstrap on PostgreSQL)",
    );
  withCommonOptions(add);
  examples(add, [
    "wharf user add alice --admin --data-dir /var/lib/wharf   # the first administrator",
    "wharf user add alice --admin --server-config wharf.yaml  # the same, on the PostgreSQL it names",
    "wharf user add bob --registry registry.example.com       # later, as a logged-in admin",
    "printf '%s' \"$PASSWORD\" | wharf user add ci-reader --password-stdin --registry 127.0.0.1:5000",
  ]);
  add.action(async (name: string, options: UserOptions) => {
    await runCommand(options, async (ctx) => {
      const password = await newPassword(options.passwordStdin === true);
      let created: UserInfo;
      if (options.dataDir !== undefined && options.serverConfig !== undefined) {
        throw new UsageError("give --data-dir or --server-config, not both");
      }
      if (options.dataDir !== undefined || options.serverConfig !== undefined) {
        const db = await openBootstrapDatabase(options);
        created = await addUserDirectly(db, name, password, options.admin === true);
      } else {
        created = await AdminApi.for(ctx, options).call<UserInfo>("POST", "/users", {
          name,
          password,
          admin: options.admin === true,
        });
      }
      if (ctx.json) return ctx.printJson(created);
      ctx.note(`Added ${created.admin ? "administrator" : "user"} ${created.name}`);
    });
  });

  const rm = user
    .command("rm")
    .description("Remove a user and the access rules naming them")
    .argument("<name>");
  rm.option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(rm);
  examples(rm, ["wharf user rm bob --registry registry.example.com"]);
  rm.action(async (name: string, options: UserOptions) => {
    await runCommand(options, async (ctx) => {
      await AdminApi.for(ctx, options).call("DELETE", `/users/${encodeURIComponent(name)}`);
      if (ctx.json) return ctx.printJson({ removed: name });
      ctx.note(`Removed user ${name}`);
    });
  });

  const passwd = user
    .command("passwd")
    .description(
      "Set a user's password: your own (asks for the current one too), or anyone's as an administrator",
    )
    .argument("<name>")
    .option(
      "--password-stdin",
      "read the password from stdin instead of prompting; for your own account, the current password " +
        "on the first line and the new one on the second",
    )
    .option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(passwd);
  examples(passwd, [
    "wharf user passwd alice --registry registry.example.com   # asks for the current and the new password",
    'printf \'%s\\n%s\' "$OLD" "$NEW" | wharf user passwd alice --password-stdin   # your own, from a script',
    "printf '%s' \"$NEW\" | wharf user passwd bob --password-stdin        # an admin resetting bob's",
  ]);
  passwd.action(async (name: string, options: UserOptions) => {
    await runCommand(options, async (ctx) => {
      const api = AdminApi.for(ctx, options);
      const own = (await api.username()) === name;
      const { current, password } = own
        ? await currentAndNewPassword(options.passwordStdin === true)
        : { current: undefined, password: await newPassword(options.passwordStdin === true) };
      await api.call("PUT", `/users/${encodeURIComponent(name)}/password`, {
        password,
        ...(current === undefined ? {} : { currentPassword: current }),
      });
      if (ctx.json) return ctx.printJson({ updated: name });
      ctx.note(`Password of ${name} changed`);
    });
  });

  const ls = user
    .command("ls")
    .description("List users")
    .option("--registry <host>", "default WHARF_REGISTRY");
  withCommonOptions(ls);
  examples(ls, ["wharf user ls --registry registry.example.com --json"]);
  ls.action(async (options: UserOptions) => {
    await runCommand(options, async (ctx) => {
      const { users } = await AdminApi.for(ctx, options).call<{ users: UserInfo[] }>("GET", "/users");
      if (ctx.json) return ctx.printJson(users);
      ctx.print(
        table([
          ["NAME", "ROLE", "CREATED"],
          ...users.map((u) => [u.name, u.admin ? "admin" : "user", u.createdAt]),
        ]),
      );
    });
  });
}

/** A new password: from stdin, or typed twice at a prompt. Never a default. */
async function newPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const password = await readStdin();
    if (!password) throw new UsageError("no password on stdin");
    return password;
  }
  const first = await prompt("New password: ", true);
  const second = await prompt("Repeat it: ", true);
  if (first !== second) throw new UsageError("the passwords differ");
  return first;
}

/** Changing your own password: the current one first (the registry checks it), then the new one. */
async function currentAndNewPassword(fromStdin: boolean): Promise<{ current: string; password: string }> {
  if (fromStdin) {
    const [current = "", password = "", ...rest] = (await readStdin()).split(/\r?\n/);
    if (!current || !password || rest.some((line) => line !== "")) {
      throw new UsageError(
        "changing your own password needs the current password on the first line of stdin and the new one on the second",
      );
    }
    return { current, password };
  }
  const current = await prompt("Current password: ", true);
  return { current, password: await newPassword(false) };
}

/**
 * The database a bootstrap command works on: the one `wharf serve` would open with the same data
 * directory, environment (WHARF_METADATA_DRIVER, WHARF_METADATA_URL) and configuration file. SQLite's
 * data directory is created as serve would (the first admin usually comes before the first start).
 */
export async function openBootstrapDatabase(
  options: Pick<UserOptions, "dataDir" | "serverConfig">,
): Promise<Db> {
  const config = await loadTargetConfig(options);
  if (config.metadataDriver === "sqlite") await preparePrivateDataDir(config.dataDir);
  return openMetadata(config, { migrate: true });
}

/**
 * The configuration `wharf serve` would run with for --data-dir or --server-config (and the environment):
 * what every command working on a registry's database directly starts from. A bad one is a usage error.
 */
export async function loadTargetConfig(options: {
  dataDir?: string;
  serverConfig?: string;
}): Promise<ServerConfig> {
  try {
    return await loadServerConfig({
      file: options.serverConfig,
      env: process.env,
      flags: options.dataDir !== undefined ? { dataDir: options.dataDir } : {},
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The bootstrap path: straight into the database, so the first admin needs no running server. */
async function addUserDirectly(db: Db, name: string, password: string, admin: boolean): Promise<UserInfo> {
  try {
    const accounts = new Accounts(db, () => undefined);
    let created: UserInfo;
    try {
      created = await accounts.addUser(name, password, admin);
    } catch (err) {
      if (err instanceof AccountError) throw new UsageError(err.message);
      throw err;
    }
    await putSetting(db, "auth.required", "true");
    await new AuditLog(db, pino({ level: "silent" })).record({
      actor: "local",
      client: "cli",
      action: "user.add",
      target: name,
      detail: { admin, via: "data-dir" },
    });
    return created;
  } finally {
    await db.destroy();
  }
}
