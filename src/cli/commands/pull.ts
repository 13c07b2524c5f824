import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { CachingFetcher } from "../../client/fetcher.js";
import { pullArtifact, type PullResult } from "../../client/pull.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";

interface PullOptions extends CommonOptions {
  output: string;
  refresh?: boolean;
  platform?: string;
  file?: string;
}

export function registerPull(program: Command): void {
  const command = program
    .command("pull")
    .description("Pull an artifact's files into a directory, verified, through the local cache")
    .argument("[ref]", "host[:port]/repo[:tag|@digest]")
    .option("-o, --output <dir>", "directory to write into (created if missing)", ".")
    .option("--refresh", "ignore the cache: resolve and download everything again")
    .option("--platform <os/arch>", "manifest to pick from an index (default: this machine's)")
    .option("-f, --file <file>", "pull every OCI reference declared in this YAML or JSON file");
  withCommonOptions(command, { transfers: "download" });
  examples(command, [
    "wharf pull 127.0.0.1:5000/team/deploy:v1 -o ./deploy",
    "wharf pull 127.0.0.1:5000/charts/mychart:0.1.0              # writes mychart-0.1.0.tgz here",
    "wharf pull reg.example.com/team/app@sha256:…                 # by digest: served from the cache once pulled",
    "wharf pull --refresh 127.0.0.1:5000/team/deploy:v1 -o deploy # bypass the cache",
    "wharf pull -f values.yaml -o vendor/                         # every oci:// reference and image: in the file",
  ]);
  command.action(async (reference: string | undefined, options: PullOptions) => {
    await runCommand(options, async (ctx) => {
      if (options.file) {
        if (reference) throw new UsageError("give either a reference or --file, not both");
        const { pullFromFile } = await import("./pull-file.js");
        return pullFromFile(ctx, options.file, options);
      }
      if (!reference) throw new UsageError("missing reference: wharf pull REF [-o DIR]");
      const result = await pullOne(ctx, reference, options);
      if (ctx.json) ctx.printJson(result);
      else ctx.print(result.digest);
    });
  });
}

/** Pulls one reference and tells the user, on stderr, what happened (and whether the cache served it). */
export async function pullOne(
  ctx: Context,
  reference: string,
  options: { output?: string; refresh?: boolean; platform?: string },
): Promise<PullResult> {
  const ref = ctx.client.parse(reference);
  if (ref.kind !== "registry")
    throw new UsageError(`pull reads from registries; use wharf cp to read ${reference}`);
  const fetcher = new CachingFetcher(ctx.client, ctx.cache(), { refresh: options.refresh });
  const result = await pullArtifact(fetcher, ref, {
    outputDir: options.output,
    platform: options.platform,
    progress: ctx.progress,
    concurrency: ctx.client.concurrency,
  });
  ctx.progress?.stop();
  if (!ctx.json) {
    if (result.offline) {
      const reason = result.offlineReason ?? `${ref.registry} is unreachable`;
      ctx.note(`${reason}: used the cache (${result.reference} resolved ${result.resolvedAt})`);
    } else if (result.downloads === 0)
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
