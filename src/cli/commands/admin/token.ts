import type { Command } from "commander";
import { UsageError } from "../../../client/errors.js";
import type { RobotInfo } from "../../../auth/accounts.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "../common/context.js";
import { parseDuration, table } from "../common/format.js";
import { AdminApi, type RegistryOption } from "./api.js";

interface CreateOptions extends CommonOptions, RegistryOption {
  name: string;
  repo: string[];
  actions: string;
  expires: string;
}

const DEFAULT_EXPIRY = "90d";

export function registerToken(program: Command): void {
  const token = program.command("token").description("Robot tokens for CI: scoped, expiring, revocable");
  examples(token, [
    "wharf token create --name ci --repo 'team-a/**' --actions pull,push --expires 30d",
    "wharf token ls --registry registry.example.com",
    "wharf token revoke ci --registry registry.example.com",
  ]);

  const create = token
    .command("create")
    .description("Create a robot token; its secret is shown once")
    .requiredOption("--name <name>", "the robot's name (its username for docker/podman/skopeo login)")
    .requiredOption(
      "--repo <pattern>",
      "repository glob it may use, e.g. 'team-a/**'; repeatable",
      collect,
      [],
    )
    .option("--actions <list>", "comma-separated: pull, push, delete", "pull")
    .option("--expires <duration>", "lifetime such as 30d or 12h, or 'never'", DEFAULT_EXPIRY)
    .option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(create);
  examples(create, [
    "wharf token create --name ci --repo 'team-a/**' --actions pull,push --expires 30d",
    "wharf token create --name ci --repo 'team-a/**' --actions pull,push --json | jq -r .secret",
    "docker login registry.example.com -u ci          # the secret is the password",
  ]);
  create.action(async (options: CreateOptions) => {
    await runCommand(options, async (ctx) => {
      let expiresAt: string | null = null;
      if (options.expires !== "never") {
        const ms = parseDuration(options.expires);
        if (ms === undefined || ms <= 0)
          throw new UsageError("--expires: use a duration such as 30d, or never");
        expiresAt = new Date(Date.now() + ms).toISOString();
      }
      if (options.repo.length === 0)
        throw new UsageError("--repo: name at least one repository glob the token may use, e.g. 'team-a/**'");
      const actions = options.actions
        .split(",")
        .map((a) => a.trim())
        .filter(Boolean);
      const api = AdminApi.for(ctx, options);
      const created = await api.call<RobotInfo & { secret: string }>("POST", "/tokens", {
        name: options.name,
        repositories: options.repo,
        actions,
        expiresAt,
      });
      if (ctx.json) return ctx.printJson(created);
      ctx.print(created.secret);
      ctx.note(
        `Created token ${created.name} (${created.actions.join(",")} on ${created.repositories.join(" ")}, ` +
          `${created.expiresAt ? `expires ${created.expiresAt}` : "never expires"}).`,
      );
      ctx.note(
        `The secret above is shown only now. Log in with: docker login ${api.host} -u ${created.name}`,
      );
    });
  });

  const ls = token.command("ls").description("List robot tokens (never their secrets)");
  ls.option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(ls);
  examples(ls, ["wharf token ls --registry registry.example.com"]);
  ls.action(async (options: CommonOptions & RegistryOption) => {
    await runCommand(options, async (ctx) => {
      const { tokens } = await AdminApi.for(ctx, options).call<{ tokens: RobotInfo[] }>("GET", "/tokens");
      if (ctx.json) return ctx.printJson(tokens);
      ctx.print(
        table([
          ["NAME", "REPOSITORIES", "ACTIONS", "EXPIRES", "LAST USED", "STATE"],
          ...tokens.map((t) => [
            t.name,
            t.repositories.join(" "),
            t.actions.join(","),
            t.expiresAt ?? "never",
            t.lastUsedAt ?? "-",
            t.revokedAt
              ? "revoked"
              : t.expiresAt && t.expiresAt <= new Date().toISOString()
                ? "expired"
                : "active",
          ]),
        ]),
      );
    });
  });

  const revoke = token.command("revoke").description("Revoke a robot token at once").argument("<name>");
  revoke.option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(revoke);
  examples(revoke, ["wharf token revoke ci --registry registry.example.com"]);
  revoke.action(async (name: string, options: CommonOptions & RegistryOption) => {
    await runCommand(options, async (ctx) => {
      await AdminApi.for(ctx, options).call("DELETE", `/tokens/${encodeURIComponent(name)}`);
      if (ctx.json) return ctx.printJson({ revoked: name });
      ctx.note(`Revoked token ${name}`);
    });
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
