import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { searchArtifacts } from "../../client/discovery/listing.js";
import { parseLocation } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { defaultLocation, printListing } from "./common/artifacts.js";

interface SearchOptions extends CommonOptions {
  kind?: string;
  registry?: string;
  annotation: string[];
}

export function registerSearch(program: Command): void {
  const command = program
    .command("search")
    .description("Search a registry's artifacts by name, title, description, tag and annotation")
    .argument("[query]", "words that must all occur (repository names rank first)")
    .option(
      "--kind <kind>",
      "only artifacts of this kind: a kind id, or the word kind ids end in (chart, policy; see `wharf kinds`)",
    )
    .option(
      "--registry <host[/namespace]>",
      "the registry to search (default: the kind's default, else WHARF_REGISTRY)",
    )
    .option(
      "--annotation <key=value>",
      "only artifacts with this annotation (Wharf registries); repeatable",
      (v: string, p: string[]) => [...p, v],
      [],
    );
  withCommonOptions(command);
  examples(command, [
    "wharf search postgres --registry 127.0.0.1:5000",
    "wharf search nginx --kind chart --registry 127.0.0.1:5000/charts",
    "wharf search --annotation org.opencontainers.image.licenses=MIT --registry 127.0.0.1:5000 --json",
  ]);
  command.action(async (query: string | undefined, options: SearchOptions) => {
    await runCommand(options, async (ctx) => {
      const where = options.registry ?? defaultLocation(ctx, options.kind);
      if (!where)
        throw new UsageError(
          "name the registry to search with --registry HOST[/NAMESPACE], or set a default (WHARF_REGISTRY=oci://HOST/NAMESPACE)",
        );
      const location = parseLocation(where);
      for (const a of options.annotation) {
        if (a.indexOf("=") <= 0) throw new UsageError(`--annotation ${JSON.stringify(a)} must be key=value`);
      }
      const listing = await searchArtifacts(ctx.client, {
        registry: location.registry,
        namespace: location.repository,
        kind: options.kind,
        q: query,
        annotations: options.annotation,
      });
      printListing(ctx, listing);
    });
  });
}
