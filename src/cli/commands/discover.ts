import type { Command } from "commander";
import {
  DEFAULT_DISCOVER_DEPTH,
  DEFAULT_DISCOVER_NODES,
  discoverReferrers,
  renderTree,
} from "../../client/discover.js";
import { UsageError } from "../../client/errors.js";
import { formatReference } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { openTarget, targetReference } from "./common/targets.js";

interface DiscoverOptions extends CommonOptions {
  artifactType?: string;
  depth: string;
}

const MAX_DEPTH = 64;

export function registerDiscover(program: Command): void {
  const command = program
    .command("discover")
    .description(
      "Show the tree of signatures, SBOMs and other artifacts that refer to an artifact (and to them)",
    )
    .argument("<ref>", "host[:port]/repo:tag or @digest, or oci:DIR[:tag]")
    .option("--artifact-type <type>", "only referrers of this type at the first level")
    .option("--depth <n>", `levels of referrers to follow (1-${MAX_DEPTH})`, String(DEFAULT_DISCOVER_DEPTH));
  withCommonOptions(command);
  examples(command, [
    "wharf discover 127.0.0.1:5000/team/deploy:v1",
    "wharf discover 127.0.0.1:5000/team/deploy:v1 --artifact-type application/spdx+json --depth 1",
    "wharf discover 127.0.0.1:5000/team/deploy:v1 --json | jq -r '.manifests[].digest'",
  ]);
  command.action(async (reference: string, options: DiscoverOptions) => {
    await runCommand(options, async (ctx) => {
      const depth = Number(options.depth);
      if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH)
        throw new UsageError(`--depth must be a whole number from 1 to ${MAX_DEPTH}`);
      const ref = ctx.client.parse(reference);
      const target = openTarget(ctx, ref);
      const root = await target.resolve(targetReference(ref));
      const name = formatReference({ ...ref, tag: undefined, digest: undefined });
      const result = await discoverReferrers(target, root, name, {
        depth,
        maxNodes: DEFAULT_DISCOVER_NODES,
        ...(options.artifactType ? { artifactType: options.artifactType } : {}),
      });
      if (ctx.json) ctx.printJson(result.root);
      else ctx.print(renderTree(result.root).join("\n"));
      if (result.truncated)
        ctx.note(
          `wharf: the tree was cut at ${DEFAULT_DISCOVER_NODES} artifacts; narrow it with --artifact-type or --depth`,
        );
    });
  });
}
