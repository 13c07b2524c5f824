import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { formatReference } from "../../client/reference.js";
import { isValidTag } from "../../oci/names.js";
import { guardVersionTag } from "../../client/tag-guard.js";
import { FORCE_HELP } from "./common/force-option.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import {
  indexNamespace,
  maintainIndex,
  pushedChange,
  withIndexOption,
  type IndexOption,
} from "./common/index-option.js";
import { openTarget, targetReference } from "./common/targets.js";
import { kindDefault, withKindDefault, type KindDefaultOptions } from "./common/kind-option.js";

export function registerTag(program: Command): void {
  const command = program
    .command("tag")
    .description("Give an existing artifact more tags (no content is transferred)")
    .argument("<ref>", "host[:port]/repo:tag or …@digest")
    .argument("<tags...>", "new tags in the same repository")
    .option("--force", FORCE_HELP);
  withIndexOption(command, "then list the new tags");
  withKindDefault(command);
  withCommonOptions(command);
  examples(command, [
    "wharf tag 127.0.0.1:5000/team/deploy:v1.2.0 v1.2 v1 stable",
    "wharf tag 127.0.0.1:5000/team/deploy@sha256:… prod",
    "wharf tag registry.example.com/team/deploy:v1.2.0 stable --index   # team/index:latest follows",
  ]);
  command.action(
    async (
      reference: string,
      tags: string[],
      options: CommonOptions & KindDefaultOptions & { index?: IndexOption; force?: boolean },
    ) => {
      await runCommand(options, async (ctx) => {
        for (const tag of tags)
          if (!isValidTag(tag)) throw new UsageError(`invalid tag ${JSON.stringify(tag)}`);
        const ref = ctx.client.parse(reference, kindDefault(options));
        const namespace = indexNamespace(ctx, options.index, ref);
        const target = openTarget(ctx, ref);
        const descriptor = await target.resolve(targetReference(ref));
        const data = await target.fetchManifest(descriptor);
        // Every tag checked before any is written: a refused one leaves the others unmoved as well.
        if (!options.force) for (const tag of tags) await guardVersionTag(target, tag, descriptor.digest);
        for (const tag of tags) await target.pushManifest(data, tag, { force: options.force });
        const tagged = tags.map((tag) => formatReference({ ...ref, tag, digest: undefined }));
        let index;
        if (namespace !== undefined && ref.kind === "registry") {
          const change = () => pushedChange(ctx, ref, descriptor.digest, tags);
          index = await maintainIndex(ctx, ref, namespace, change, `tagged ${tagged.join(", ")}`);
        }
        if (ctx.json)
          return ctx.printJson({ digest: descriptor.digest, tagged, ...(index ? { index } : {}) });
        for (const t of tagged) ctx.note(`Tagged ${t}`);
        ctx.print(descriptor.digest);
      });
    },
  );
}
