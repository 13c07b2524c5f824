import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { parseLocation } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";

interface TagsOptions extends CommonOptions {
  last?: string;
  n?: string;
}

export function registerTags(program: Command): void {
  const command = program
    .command("tags")
    .description("List a repository's tags, all of them or one page at a time")
    .argument("<repo>", "HOST[:port]/REPO, or REPO with WHARF_REGISTRY")
    .option("--last <tag>", "start after this tag (as the registry sorts them)")
    .option("-n <count>", "at most this many tags (one page)");
  withCommonOptions(command);
  examples(command, [
    "wharf tags 127.0.0.1:5000/team/deploy",
    "wharf tags 127.0.0.1:5000/team/deploy -n 50              # first page",
    "wharf tags 127.0.0.1:5000/team/deploy -n 50 --last v1.49 # the next one",
  ]);
  command.action(async (repo: string, options: TagsOptions) => {
    await runCommand(options, async (ctx) => {
      const where = parseLocation(repo, { defaultRegistry: ctx.client.defaultRegistry });
      if (where.repository === undefined)
        throw new UsageError(`${repo} names a registry; tags needs a repository`);
      const registry = ctx.client.registry(where.registry);
      let tags: string[];
      let more = false;
      if (options.n !== undefined) {
        if (!/^\d+$/.test(options.n)) throw new UsageError("-n must be a non-negative integer");
        const page = await registry.tagPage(where.repository, { n: Number(options.n), last: options.last });
        tags = page.tags;
        more = page.more;
      } else {
        tags = [];
        let page = await registry.tagsPage(where.repository, { last: options.last });
        for (;;) {
          tags.push(...page.items);
          if (!page.next || page.items.length === 0) break;
          page = await registry.tagsPage(where.repository, {}, page.next);
        }
        // Lexical order, as the spec has it, whatever order the registry keeps them in.
        tags = [...new Set(tags)].sort().filter((t) => options.last === undefined || t > options.last);
      }
      const next = more ? tags.at(-1) : undefined;
      if (ctx.json)
        return ctx.printJson({
          registry: where.registry,
          repository: where.repository,
          tags,
          next: next ?? null,
        });
      ctx.printLines(tags);
      if (next !== undefined) ctx.note(`more tags: --last ${next}`);
    });
  });
}
