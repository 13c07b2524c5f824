import type { Command } from "commander";
import type { RuleInfo } from "../../../auth/accounts.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "../common/context.js";
import { table } from "../common/format.js";
import { AdminApi, type RegistryOption } from "./api.js";

type Options = CommonOptions & RegistryOption;

export function registerAccess(program: Command): void {
  const access = program
    .command("access")
    .description("Show and edit access rules: who may pull, push, delete or administer which repositories");
  examples(access, [
    "wharf access --registry registry.example.com             # list the rules",
    "wharf access add user:bob 'team-a/**' pull,push",
    "wharf access add anonymous 'public/**' pull",
    "wharf access rm 3f9a1c0b2d4e",
  ]);

  const ls = access.command("ls", { isDefault: true }).description("List the rules");
  ls.option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(ls);
  examples(ls, ["wharf access --registry registry.example.com"]);
  ls.action(async (options: Options) => {
    await runCommand(options, async (ctx) => {
      const { rules } = await AdminApi.for(ctx, options).call<{ rules: RuleInfo[] }>("GET", "/access");
      if (ctx.json) return ctx.printJson(rules);
      ctx.print(
        table([
          ["ID", "SUBJECT", "REPOSITORIES", "ACTIONS", "BY"],
          ...rules.map((r) => [r.id, r.subject, r.pattern, r.actions.join(","), r.createdBy]),
        ]),
      );
    });
  });

  const add = access
    .command("add")
    .description("Grant actions on repositories matching a glob")
    .argument("<subject>", "anonymous, authenticated, user:NAME or robot:NAME")
    .argument("<pattern>", "repository glob, e.g. 'team-a/**' or 'public/*'")
    .argument("<actions>", "comma-separated: pull, push, delete, admin (anonymous: pull only)")
    .option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(add);
  examples(add, [
    "wharf access add user:bob 'team-a/**' pull,push",
    "wharf access add anonymous 'public/**' pull",
    "wharf access add authenticated '**' pull",
  ]);
  add.action(async (subject: string, pattern: string, actions: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      const rule = await AdminApi.for(ctx, options).call<RuleInfo>("POST", "/access", {
        subject,
        pattern,
        actions: actions
          .split(",")
          .map((a) => a.trim())
          .filter(Boolean),
      });
      if (ctx.json) return ctx.printJson(rule);
      ctx.print(rule.id);
      ctx.note(`Granted ${rule.actions.join(",")} on ${rule.pattern} to ${rule.subject}`);
    });
  });

  const rm = access
    .command("rm")
    .description("Remove a rule")
    .argument("<id>", "the rule's ID (see wharf access)");
  rm.option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(rm);
  examples(rm, ["wharf access rm 3f9a1c0b2d4e"]);
  rm.action(async (id: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      await AdminApi.for(ctx, options).call("DELETE", `/access/${encodeURIComponent(id)}`);
      if (ctx.json) return ctx.printJson({ removed: id });
      ctx.note(`Removed rule ${id}`);
    });
  });
}
