import type { Command } from "commander";
import { AuthError, UsageError } from "../../client/errors.js";
import { Client } from "../../client/client.js";
import { DockerConfig } from "../../client/docker-config.js";
import { parseLocation } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { prompt, readStdin } from "./common/prompt.js";

interface LoginOptions extends CommonOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

export function registerLogin(program: Command): void {
  const command = program
    .command("login")
    .description(
      "Check credentials against a registry and store them where docker, podman and helm find them",
    )
    .argument("<host>", "registry host[:port]")
    .option("-u, --username <user>", "user name (asked for when missing)")
    .option("-p, --password <password>", "password (visible to other users in ps: prefer --password-stdin)")
    .option("--password-stdin", "read the password from stdin");
  withCommonOptions(command);
  examples(command, [
    "wharf login registry.example.com                      # asks for user and password",
    'echo "$TOKEN" | wharf login ghcr.io -u ci-bot --password-stdin',
  ]);
  command.action(async (hostArg: string, options: LoginOptions) => {
    await runCommand(options, async (ctx) => {
      const host = parseLocation(hostArg).registry;
      if (options.password !== undefined && options.passwordStdin) {
        throw new UsageError("give --password or --password-stdin, not both");
      }
      const username = options.username ?? (await prompt("Username: "));
      const password =
        options.password ?? (options.passwordStdin ? await readStdin() : await prompt("Password: ", true));
      if (!username || !password) throw new UsageError("user name and password must not be empty");

      // Verify before storing: a typo should fail now, not at the next push.
      const checker = new Client({
        ...ctx.client.options,
        credentials: async () => ({ username, password }),
      });
      try {
        await checker.registry(host).transport.ping();
      } catch (err) {
        if (err instanceof AuthError) throw new AuthError(`login to ${host} failed: ${err.message}`);
        throw err;
      } finally {
        checker.close();
      }
      const config = await DockerConfig.load(ctx.env);
      const stored = await config.store(host, { username, password });
      const where =
        stored.kind === "helper" ? `credential helper docker-credential-${stored.helper}` : stored.path;
      if (ctx.json) return ctx.printJson({ registry: host, username, storedIn: stored });
      ctx.note(`Login succeeded: credentials for ${host} stored in ${where}`);
    });
  });
}

export function registerLogout(program: Command): void {
  const command = program
    .command("logout")
    .description("Remove stored credentials for a registry")
    .argument("<host>", "registry host[:port]");
  withCommonOptions(command, { network: false });
  examples(command, ["wharf logout registry.example.com"]);
  command.action(async (hostArg: string, options: CommonOptions) => {
    await runCommand(options, async (ctx) => {
      const host = parseLocation(hostArg).registry;
      const config = await DockerConfig.load(ctx.env);
      const removed = await config.erase(host);
      if (ctx.json) return ctx.printJson({ registry: host, removed });
      ctx.note(removed ? `Removed credentials for ${host}` : `No credentials were stored for ${host}`);
    });
  });
}
