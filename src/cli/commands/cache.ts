import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { formatBytes, parseDuration, table } from "./common/format.js";

interface PruneOptions extends CommonOptions {
  all?: boolean;
  olderThan?: string;
}

export function registerCache(program: Command): void {
  const cache = program
    .command("cache")
    .description("Inspect and maintain the local cache ($XDG_CACHE_HOME/wharf, default ~/.cache/wharf)");
  examples(cache, ["wharf cache ls", "wharf cache prune --older-than 30d", "wharf cache verify"]);

  const ls = cache
    .command("ls")
    .description("List cached references, with their digest and when they were resolved");
  withCommonOptions(ls, { network: false });
  examples(ls, ["wharf cache ls", "wharf cache ls --json"]);
  ls.action(async (options: CommonOptions) => {
    await runCommand(options, async (ctx) => {
      const store = ctx.cache();
      const references = await store.references();
      const stats = await store.stats();
      if (ctx.json) return ctx.printJson({ location: store.root, references, ...stats });
      if (references.length) {
        ctx.print(
          table([
            ["REFERENCE", "DIGEST", "RESOLVED"],
            ...references.map((r) => [r.reference, r.digest, r.resolvedAt]),
          ]),
        );
      }
      ctx.note(`${store.root}: ${stats.blobs} blobs, ${formatBytes(stats.bytes)}`);
    });
  });

  const prune = cache
    .command("prune")
    .description("Remove blobs no cached reference needs (and, with --older-than, old references)")
    .option("--all", "empty the cache")
    .option("--older-than <age>", "first forget references resolved longer ago than this (30d, 12h)");
  withCommonOptions(prune, { network: false });
  examples(prune, ["wharf cache prune", "wharf cache prune --older-than 30d", "wharf cache prune --all"]);
  prune.action(async (options: PruneOptions) => {
    await runCommand(options, async (ctx) => {
      let olderThanMs: number | undefined;
      if (options.olderThan !== undefined) {
        olderThanMs = parseDuration(options.olderThan);
        if (olderThanMs === undefined)
          throw new UsageError(`--older-than ${options.olderThan}: expected e.g. 30d or 12h`);
      }
      const result = await ctx.cache().prune({ all: options.all, olderThanMs });
      if (ctx.json) return ctx.printJson(result);
      ctx.note(
        `Removed ${result.references.length} reference(s) and ${result.blobs} blob(s), freeing ${formatBytes(result.bytes)}`,
      );
    });
  });

  const verify = cache
    .command("verify")
    .description("Re-hash every cached blob; corrupt ones are removed (exit 5 if any)");
  withCommonOptions(verify, { network: false });
  examples(verify, ["wharf cache verify"]);
  verify.action(async (options: CommonOptions) => {
    await runCommand(options, async (ctx) => {
      const result = await ctx.cache().verify();
      if (ctx.json) ctx.printJson(result);
      else {
        for (const digest of result.corrupt) ctx.note(`corrupt, removed: ${digest}`);
        ctx.note(`Checked ${result.checked} blob(s): ${result.corrupt.length} corrupt`);
      }
      return result.corrupt.length > 0 ? 5 : 0;
    });
  });
}
