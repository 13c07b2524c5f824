import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { stat } from "node:fs/promises";
import { CachingFetcher } from "../../client/fetcher.js";
import { LayoutSource } from "../../client/layout-source.js";
import { checkPlatform } from "../../client/platform.js";
import { pullArtifact, type PullResult } from "../../client/pull.js";
import { loadPublicKeys } from "../../client/signing/keys.js";
import type { TrustedKey } from "../../oci/signatures/index.js";
import { verifiedReference } from "./verify.js";
import { platformNote } from "./common/format.js";
import { kindDefault, withKindDefault, type KindDefaultOptions } from "./common/kind-option.js";
import { formatReference } from "../../client/reference.js";
import {
  describeChoice,
  hasPolicy,
  pinned,
  policyFromOptions,
  resolvePolicy,
  withPolicyOptions,
  type PolicyOptions,
} from "./common/policy-options.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";

interface PullOptions extends CommonOptions, KindDefaultOptions, PolicyOptions {
  output: string;
  refresh?: boolean;
  platform?: string;
  file?: string;
  locked?: boolean;
  lock: string;
  verifyKey: string[];
}

export function registerPull(program: Command): void {
  const command = program
    .command("pull")
    .description("Pull an artifact's files into a directory, verified, through the local cache")
    .argument("[ref]", "host[:port]/repo[:tag|@digest], or oci:DIR[:tag|@digest] for an OCI layout")
    .option("-o, --output <dir>", "directory to write into (created if missing)", ".")
    .option("--refresh", "ignore the cache: resolve and download everything again")
    .option("--platform <os/arch>", "manifest to pick from an index (default: this machine's)")
    .option("-f, --file <file>", "pull every OCI reference declared in this YAML, JSON, HCL or .tf file")
    .option("--locked", "with -f: pull exactly the digests the lock file has for the file's references")
    .option("--lock <file>", "the lock file --locked reads (written by wharf lock)", "wharf.lock")
    .option(
      "--verify-key <file>",
      "pull only what this public key (cosign.pub) signed, checked before anything is downloaded; repeatable",
      (v: string, p: string[]) => [...p, v],
      [],
    );
  withPolicyOptions(command);
  withKindDefault(command);
  withCommonOptions(command, { transfers: "download" });
  examples(command, [
    "wharf pull 127.0.0.1:5000/team/deploy:v1 -o ./deploy",
    "wharf pull 127.0.0.1:5000/charts/mychart:0.1.0              # writes mychart-0.1.0.tgz here",
    "wharf pull reg.example.com/team/app@sha256:…                 # by digest: served from the cache once pulled",
    "wharf pull --refresh 127.0.0.1:5000/team/deploy:v1 -o deploy # bypass the cache",
    "wharf pull -f values.yaml -o vendor/                         # every oci:// reference and image: in the file",
    "wharf pull -f values.yaml --locked -o vendor/                # the digests wharf.lock pinned",
    "wharf pull 127.0.0.1:5000/charts/web --semver '^1.2'        # the highest 1.x version from 1.2 on",
    "WHARF_REGISTRY=oci://reg.example.com/library wharf pull postgres:v14   # a short name",
    "wharf pull --kind policy baseline:v1    # through registries.policy in ~/.config/wharf/config.yaml",
  ]);
  command.action(async (reference: string | undefined, options: PullOptions) => {
    await runCommand(options, async (ctx) => {
      checkPlatform(options.platform);
      await checkOutputDir(options.output);
      if (options.locked && !options.file) throw new UsageError("--locked goes with -f FILE");
      const trusted = options.verifyKey.length > 0 ? await loadPublicKeys(options.verifyKey) : undefined;
      if (options.file) {
        if (reference) throw new UsageError("give either a reference or --file, not both");
        if (hasPolicy(options))
          throw new UsageError("--semver, --order and --filter pick one reference's tag, not --file's");
        const { pullFromFile } = await import("./pull-file.js");
        return pullFromFile(ctx, options.file, { ...options, trusted });
      }
      if (!reference) throw new UsageError("missing reference: wharf pull REF [-o DIR]");
      const policy = policyFromOptions(options);
      if (policy) {
        const ref = ctx.client.parse(reference, kindDefault(options));
        const resolved = await resolvePolicy(ctx, ref, policy);
        reference = formatReference(pinned(ref, resolved));
        if (!ctx.json) ctx.note(`${describeChoice(resolved.tag, resolved.candidates)}: ${reference}`);
      }
      const result = await pullOne(ctx, reference, { ...options, trusted });
      if (ctx.json) ctx.printJson(result);
      else ctx.print(result.digest);
    });
  });
}

/** Pulls one reference and tells the user, on stderr, what happened (and whether the cache served it). */
export async function pullOne(
  ctx: Context,
  reference: string,
  options: {
    output?: string;
    refresh?: boolean;
    platform?: string;
    trusted?: TrustedKey[];
  } & KindDefaultOptions,
): Promise<PullResult> {
  let ref = ctx.client.parse(reference, kindDefault(options));
  if (options.trusted) ref = await verifiedReference(ctx, ref, options.trusted);
  const pullOptions = {
    outputDir: options.output,
    platform: options.platform,
    progress: ctx.progress,
    concurrency: ctx.client.concurrency,
  };
  const result =
    ref.kind === "layout"
      ? await pullArtifact(new LayoutSource(ref.path), ref, pullOptions)
      : await pullArtifact(
          new CachingFetcher(ctx.client, ctx.cache(), { refresh: options.refresh }),
          ref,
          pullOptions,
        );
  ctx.progress?.stop();
  if (result.platform && !ctx.json) ctx.note(platformNote(result, "choose another with --platform"));
  if (!ctx.json) {
    if (result.offline) {
      const reason = result.offlineReason ?? "the registry is unreachable";
      ctx.note(`${reason}: used the cache (${result.reference} resolved ${result.resolvedAt})`);
    } else if (ref.kind === "registry" && result.downloads === 0)
      ctx.note(`All content came from the cache (${result.cacheHits} blobs)`);
    if (result.repaired > 0)
      ctx.note(`Replaced ${result.repaired} corrupt cache entr${result.repaired === 1 ? "y" : "ies"}`);
    const files = result.files.length ? `: ${result.files.join(", ")}` : "";
    ctx.note(`Pulled ${result.reference} into ${options.output ?? "."}${files}`);
    if (result.skipped > 0) {
      ctx.note(
        `${result.skipped} layer(s) without a file name (org.opencontainers.image.title) were cached, not written`,
      );
    }
  }
  return result;
}

/** `-o` names a directory (made if missing): an existing file there is bad input, found before any work. */
async function checkOutputDir(output: string | undefined): Promise<void> {
  if (output === undefined) return;
  const info = await stat(output).catch(() => undefined);
  if (info && !info.isDirectory())
    throw new UsageError(`-o ${output}: that is a file; name a directory (it is created if missing)`);
}
