import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { formatReference, type RegistryReference } from "../../client/reference.js";
import { deleteChange, untagChange } from "../../client/managed-index/index.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { kindDefault, withKindDefault, type KindDefaultOptions } from "./common/kind-option.js";
import { indexNamespace, maintainIndex, withIndexOption, type IndexOption } from "./common/index-option.js";

export function registerRm(program: Command): void {
  const command = program
    .command("rm")
    .description("Remove a tag, or delete a manifest by digest (which removes all its tags)")
    .argument("<ref>", "host[:port]/repo:tag (untag) or host[:port]/repo@digest (delete)");
  withIndexOption(command, "then drop it");
  withKindDefault(command);
  withCommonOptions(command);
  examples(command, [
    "wharf rm 127.0.0.1:5000/team/deploy:old       # the tag goes, the manifest stays if other tags use it",
    "wharf rm 127.0.0.1:5000/team/deploy@sha256:…  # the manifest and every tag pointing at it",
    "wharf rm registry.example.com/team/deploy:old --index  # and from team/index:latest",
  ]);
  command.action(
    async (reference: string, options: CommonOptions & KindDefaultOptions & { index?: IndexOption }) => {
      await runCommand(options, async (ctx) => {
        const ref = ctx.client.parse(reference, kindDefault(options));
        if (ref.kind !== "registry") throw new UsageError("rm works on registries");
        if (!ref.tag && !ref.digest)
          throw new UsageError("rm needs a tag or a digest: it never guesses `latest`");
        if (ref.tag && ref.digest)
          throw new UsageError("give a tag (to untag) or a digest (to delete), not both");
        const namespace = indexNamespace(ctx, options.index, ref);
        const registry = ctx.client.registry(ref.registry);
        await registry.deleteManifest(ref.repository, (ref.digest ?? ref.tag) as string);
        await forget(ctx.cache(), ref);
        const what = ref.digest ? "Deleted" : "Untagged";
        let index;
        if (namespace !== undefined) {
          const change = ref.digest
            ? deleteChange(ref.repository, ref.digest)
            : untagChange(ref.repository, ref.tag as string);
          index = await maintainIndex(
            ctx,
            ref,
            namespace,
            () => change,
            `${what.toLowerCase()} ${formatReference(ref)}`,
          );
        }
        if (ctx.json)
          return ctx.printJson({ [what.toLowerCase()]: formatReference(ref), ...(index ? { index } : {}) });
        ctx.note(`${what} ${formatReference(ref)}`);
      });
    },
  );
}

/** A removed reference must not be resolved from the cache later. */
async function forget(cache: { removeReference(r: string): Promise<void> }, ref: RegistryReference) {
  await cache.removeReference(formatReference(ref));
}
