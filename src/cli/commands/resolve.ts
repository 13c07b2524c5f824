import type { Command } from "commander";
import { formatReference } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { kindDefault, withKindDefault, type KindDefaultOptions } from "./common/kind-option.js";
import {
  pinned,
  policyFromOptions,
  resolutionJson,
  resolvePolicy,
  withPolicyOptions,
  type PolicyOptions,
} from "./common/policy-options.js";

interface ResolveCommandOptions extends CommonOptions, KindDefaultOptions, PolicyOptions {
  serverSide?: boolean;
}

export function registerResolve(program: Command): void {
  const command = program
    .command("resolve")
    .description(
      "Print the tag a policy picks, pinned to its digest (host/repo:tag@sha256:…); the highest stable version without flags",
    )
    .argument("<repo>", "host[:port]/repo (no tag), or oci:DIR for an OCI layout");
  withPolicyOptions(command);
  command.option("--no-server-side", "page through the tag list here even on a Wharf registry");
  withKindDefault(command);
  withCommonOptions(command);
  examples(command, [
    "wharf resolve 127.0.0.1:5000/charts/web --semver '^1.2'",
    "wharf pull \"$(wharf resolve reg.example.com/team/app --semver '~2.4')\" -o app/",
    "wharf resolve reg.example.com/team/app --filter '.*-rc.*' --semver '^1.x-0'",
    "wharf resolve reg.example.com/team/app --filter '^main-[a-f0-9]+-(?P<ts>[0-9]+)' --extract '$ts' --order numerical",
    "wharf resolve reg.example.com/team/app --order alphabetical --desc --json",
  ]);
  command.action(async (repo: string, options: ResolveCommandOptions) => {
    await runCommand(options, async (ctx) => {
      const policy = policyFromOptions(options, { semver: "*" }) ?? { semver: "*" };
      const ref = ctx.client.parse(repo, kindDefault(options));
      const resolved = await resolvePolicy(ctx, ref, policy, {
        ...(options.serverSide === false ? { serverSide: false } : {}),
      });
      if (resolved.via === "cache") {
        ctx.note(`${ref.kind === "registry" ? ref.registry : repo} is unreachable: chose among cached tags`);
      }
      if (ctx.json) return ctx.printJson(resolutionJson(ref, resolved, policy));
      ctx.print(formatReference(pinned(ref, resolved)));
    });
  });
}
