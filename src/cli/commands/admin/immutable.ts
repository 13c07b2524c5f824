import type { Command } from "commander";
import type { ImmutableRuleDto as ImmutableRule } from "../../../api/immutable.js";
import { UsageError } from "../../../client/errors.js";
import { withLocalRules } from "../../immutable-local.js";
import { examples, runCommand, type Context } from "../common/context.js";
import { table } from "../common/format.js";
import { AdminApi } from "./api.js";
import { targetsDatabase, withAdminTarget, type AdminTargetOptions } from "./target.js";

type Options = AdminTargetOptions;

/**
 * The rules of a running registry (its admin API, as a logged-in administrator), or with --data-dir or
 * --server-config straight in its database: the way to manage them on a registry without accounts.
 */
export interface Rules {
  list(): Promise<ImmutableRule[]>;
  add(rule: { name: string; repositories: string; tags: string; kind: string }): Promise<ImmutableRule>;
  remove(name: string): Promise<void>;
}

async function rulesFor(
  ctx: Context,
  options: Options,
  work: (rules: Rules) => Promise<void>,
): Promise<void> {
  if (!targetsDatabase(options)) {
    const api = AdminApi.for(ctx, options);
    return work({
      list: async () => (await api.call<{ rules: ImmutableRule[] }>("GET", "/immutable")).rules,
      add: (rule) => api.call<ImmutableRule>("POST", "/immutable", rule),
      remove: (name) => api.call("DELETE", `/immutable/${encodeURIComponent(name)}`),
    });
  }
  return withLocalRules(options, work);
}

export function registerImmutable(program: Command): void {
  const immutable = program
    .command("immutable")
    .description("Show and edit immutable-tag rules: which tags, once pushed, never move nor go away");
  examples(immutable, [
    "wharf immutable --registry registry.example.com          # list the rules",
    "wharf immutable add releases 'team-a/**' 'release-*'     # a tag glob",
    "wharf immutable add dated '**' --regex '\\d{8}-[0-9a-f]{7}'",
    "wharf immutable add semver '**' semver                   # every version tag (the default rule)",
    "wharf immutable rm semver",
    "wharf immutable rm semver --data-dir /var/lib/wharf      # a registry without accounts",
  ]);

  const ls = immutable.command("ls", { isDefault: true }).description("List the rules");
  withAdminTarget(ls);
  examples(ls, ["wharf immutable --registry registry.example.com"]);
  ls.action(async (options: Options) => {
    await runCommand(options, async (ctx) => {
      await rulesFor(ctx, options, async (api) => {
        const rules = await api.list();
        if (ctx.json) return ctx.printJson(rules);
        ctx.print(
          table([
            ["NAME", "REPOSITORIES", "TAGS", "KIND", "BY"],
            ...rules.map((r) => [r.name, r.repositories, r.tags, r.kind, r.createdBy]),
          ]),
        );
      });
    });
  });

  const add = immutable
    .command("add")
    .description("Make tags matching a pattern immutable in repositories matching a glob")
    .argument("<name>", "the rule's name (refusals name it), e.g. releases")
    .argument("<repositories>", "repository glob, e.g. '**' or 'team-a/**'")
    .argument("<tags>", "tag glob (default), a regex with --regex, or the keyword semver (any version tag)")
    .option("--glob", "<tags> is a glob over the whole tag (the default)")
    .option("--regex", "<tags> is a Go (RE2) regular expression over the whole tag, at most 256 characters");
  withAdminTarget(add);
  examples(add, [
    "wharf immutable add releases '**' 'release-*'",
    "wharf immutable add team-a-versions 'team-a/**' semver",
    "wharf immutable add nightly 'ci/**' --regex 'nightly-(?P<date>\\d{8})'",
  ]);
  add.action(
    async (
      name: string,
      repositories: string,
      tags: string,
      options: Options & { glob?: boolean; regex?: boolean },
    ) => {
      await runCommand(options, async (ctx) => {
        if (options.glob && options.regex) throw new UsageError("give --glob or --regex, not both");
        const kind = options.regex ? "regex" : options.glob ? "glob" : tags === "semver" ? "semver" : "glob";
        await rulesFor(ctx, options, async (api) => {
          const rule = await api.add({ name, repositories, tags, kind });
          if (ctx.json) return ctx.printJson(rule);
          ctx.print(rule.name);
          const what = rule.kind === "semver" ? "version tags" : `tags matching ${rule.kind} ${rule.tags}`;
          ctx.note(`Made ${what} immutable in ${rule.repositories}`);
        });
      });
    },
  );

  const rm = immutable
    .command("rm")
    .description("Remove a rule (its tags can move again)")
    .argument("<name>", "the rule's name (see wharf immutable)");
  withAdminTarget(rm);
  examples(rm, [
    "wharf immutable rm semver --registry registry.example.com",
    "wharf immutable rm semver --data-dir /var/lib/wharf   # straight in the database",
  ]);
  rm.action(async (name: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      await rulesFor(ctx, options, async (api) => {
        await api.remove(name);
        if (ctx.json) return ctx.printJson({ removed: name });
        ctx.note(`Removed rule ${name}`);
      });
    });
  });
}
