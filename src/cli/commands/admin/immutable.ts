import type { Command } from "commander";
import type { ImmutableRule } from "../../../registry/immutable/rules.js";
import { UsageError } from "../../../client/errors.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "../common/context.js";
import { table } from "../common/format.js";
import { AdminApi, type RegistryOption } from "./api.js";

type Options = CommonOptions & RegistryOption;

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
  ]);

  const ls = immutable.command("ls", { isDefault: true }).description("List the rules");
  ls.option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(ls);
  examples(ls, ["wharf immutable --registry registry.example.com"]);
  ls.action(async (options: Options) => {
    await runCommand(options, async (ctx) => {
      const { rules } = await AdminApi.for(ctx, options).call<{ rules: ImmutableRule[] }>(
        "GET",
        "/immutable",
      );
      if (ctx.json) return ctx.printJson(rules);
      ctx.print(
        table([
          ["NAME", "REPOSITORIES", "TAGS", "KIND", "BY"],
          ...rules.map((r) => [r.name, r.repositories, r.tags, r.kind, r.createdBy]),
        ]),
      );
    });
  });

  const add = immutable
    .command("add")
    .description("Make tags matching a pattern immutable in repositories matching a glob")
    .argument("<name>", "the rule's name (refusals name it), e.g. releases")
    .argument("<repositories>", "repository glob, e.g. '**' or 'team-a/**'")
    .argument("<tags>", "tag glob (default), a regex with --regex, or the keyword semver (any version tag)")
    .option("--glob", "<tags> is a glob over the whole tag (the default)")
    .option("--regex", "<tags> is a regular expression over the whole tag (RE2 subset, ≤256 characters)")
    .option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(add);
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
        const rule = await AdminApi.for(ctx, options).call<ImmutableRule>("POST", "/immutable", {
          name,
          repositories,
          tags,
          kind,
        });
        if (ctx.json) return ctx.printJson(rule);
        ctx.print(rule.name);
        const what = rule.kind === "semver" ? "version tags" : `tags matching ${rule.kind} ${rule.tags}`;
        ctx.note(`Made ${what} immutable in ${rule.repositories}`);
      });
    },
  );

  const rm = immutable
    .command("rm")
    .description("Remove a rule (its tags can move again)")
    .argument("<name>", "the rule's name (see wharf immutable)");
  rm.option("--registry <host>", "the registry to manage (default WHARF_REGISTRY)");
  withCommonOptions(rm);
  examples(rm, ["wharf immutable rm semver"]);
  rm.action(async (name: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      await AdminApi.for(ctx, options).call("DELETE", `/immutable/${encodeURIComponent(name)}`);
      if (ctx.json) return ctx.printJson({ removed: name });
      ctx.note(`Removed rule ${name}`);
    });
  });
}
