import type { Command } from "commander";
import { BUILTIN_KINDS } from "../../oci/kinds/index.js";
import { WharfApi } from "../../client/discovery/wharf-api.js";
import type { ApiKind } from "../../client/discovery/api-shapes.js";
import { parseLocation } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { table } from "./common/format.js";

interface KindsOptions extends CommonOptions {
  registry?: string;
}

export function registerKinds(program: Command): void {
  const command = program
    .command("kinds")
    .description("List the artifact kinds Wharf recognises (a registry's own, with its operator's kinds)")
    .option("--registry <host>", "ask this Wharf registry for its catalogue instead of the built-in one");
  withCommonOptions(command);
  examples(command, [
    "wharf kinds                              # the built-in catalogue",
    "wharf kinds --registry 127.0.0.1:5000    # the registry's, operator kinds included",
    "wharf kinds --json | jq -r '.kinds[] | select(.accessory) | .id'",
  ]);
  command.action(async (options: KindsOptions) => {
    await runCommand(options, async (ctx) => {
      let kinds: ApiKind[] = BUILTIN_KINDS.map(({ id, title, description, icon, accessory }) => ({
        id,
        title,
        description,
        icon,
        accessory,
      }));
      let source: "builtin" | "registry" = "builtin";
      let registry: string | null = null;
      if (options.registry !== undefined) {
        registry = parseLocation(options.registry).registry;
        const api = await WharfApi.open(ctx.client, registry);
        if (api) {
          kinds = api.kinds;
          source = "registry";
        } else ctx.note(`${registry} has no Wharf discovery API: showing the built-in catalogue`);
      }
      if (ctx.json) return ctx.printJson({ source, registry, kinds });
      ctx.print(
        table([
          ["ID", "TITLE", "ACCESSORY", "DESCRIPTION"],
          ...kinds.map((k) => [k.id, k.title, k.accessory ? "yes" : "no", k.description]),
        ]),
      );
    });
  });
}
