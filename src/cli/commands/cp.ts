import type { Command } from "commander";
import { copyArtifact } from "../../client/copy.js";
import { UsageError } from "../../client/errors.js";
import { formatReference } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { formatBytes } from "./common/format.js";
import { openTarget, targetReference } from "./common/targets.js";
import { checkPlatform } from "../../client/platform.js";
import { platformNote } from "./common/format.js";
import { FORCE_HELP } from "./common/force-option.js";
import {
  describeChoice,
  pinned,
  policyFromOptions,
  resolvePolicy,
  withPolicyOptions,
  type PolicyOptions,
} from "./common/policy-options.js";

interface CpOptions extends CommonOptions, PolicyOptions {
  all?: boolean;
  referrers?: boolean;
  platform?: string;
  force?: boolean;
}

export function registerCp(program: Command): void {
  const command = program
    .command("cp")
    .description("Copy an artifact between registries and OCI layouts, digests preserved")
    .argument("<src>", "host[:port]/repo[:tag|@digest] or oci:DIR[:tag]")
    .argument("<dst>", "host[:port]/repo[:tag] or oci:DIR[:tag] (the tag defaults to the source's)")
    .option("--all", "copy every manifest of an index, not only this platform's")
    .option("--platform <os/arch>", "manifest to copy from a multi-platform index (default: this machine's)")
    .option("--referrers", "also copy signatures, SBOMs and other artifacts that refer to it")
    .option("--force", FORCE_HELP);
  withPolicyOptions(command);
  withCommonOptions(command, { transfers: "upload" });
  examples(command, [
    "wharf cp 127.0.0.1:5000/team/deploy:v1 registry.example.com/team/deploy:v1 --referrers",
    "wharf cp 127.0.0.1:5000/team/deploy:v1 127.0.0.1:5000/prod/deploy   # same registry: blobs are mounted",
    "wharf cp registry.example.com/team/app:v2 oci:./airgap:v2 --all      # into an OCI layout directory",
    "wharf cp oci:./airgap:v2 127.0.0.1:5000/team/app:v2 --all            # and out again",
    "wharf cp registry.example.com/team/app --semver '^2' 127.0.0.1:5000/team/app   # the chosen tag, same name",
  ]);
  command.action(async (src: string, dst: string, options: CpOptions) => {
    await runCommand(options, async (ctx) => {
      checkPlatform(options.platform);
      let from = ctx.client.parse(src);
      const policy = policyFromOptions(options);
      if (policy) {
        const chosen = await resolvePolicy(ctx, from, policy);
        from = pinned(from, chosen);
        if (!ctx.json) ctx.note(`${describeChoice(chosen.tag, chosen.candidates)}: ${formatReference(from)}`);
      }
      const to = ctx.client.parse(dst);
      if (to.digest) throw new UsageError("the destination takes a tag, not a digest: digests are preserved");
      const tag = to.tag ?? from.tag ?? (from.digest ? undefined : "latest");
      const result = await copyArtifact(
        openTarget(ctx, from),
        targetReference(from),
        openTarget(ctx, to),
        tag,
        {
          all: options.all,
          platform: options.platform,
          referrers: options.referrers,
          force: options.force,
          progress: ctx.progress,
          concurrency: ctx.client.concurrency,
        },
      );
      ctx.progress?.stop();
      if (result.platform && !ctx.json)
        ctx.note(platformNote(result, "choose another with --platform, or copy them all with --all"));
      const destination = formatReference({ ...to, ...(tag ? { tag } : {}) });
      if (ctx.json) return ctx.printJson({ source: formatReference(from), destination, ...result });
      const b = result.blobs;
      ctx.note(
        `Copied ${formatReference(from)} to ${destination}: ${result.manifests} manifest(s)` +
          `${result.referrers ? ` incl. ${result.referrers} referrer(s)` : ""}, ` +
          `${b.copied} blob(s) transferred (${formatBytes(b.bytes)}), ${b.mounted} mounted, ${b.existing} already there`,
      );
      ctx.print(result.digest);
    });
  });
}
