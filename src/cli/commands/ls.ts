import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { mapLimit } from "../../client/limit.js";
import { artifactTypeOf, decodeManifest } from "../../client/manifest.js";
import { parseLocation } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { table } from "./common/format.js";

interface LsOptions extends CommonOptions {
  artifactType?: string;
  all?: boolean;
}

/** Tags the referrers fallback creates (`sha256-<hex>`): bookkeeping, hidden unless --all. */
const REFERRER_TAG = /^sha(?:256|512)-[0-9a-f]{64,128}$/;

export function registerLs(program: Command): void {
  const command = program
    .command("ls")
    .description("List a registry's repositories, or a repository's tags with digest and artifact type")
    .argument("[location]", "HOST[:port] or HOST[:port]/REPO (default: WHARF_REGISTRY)")
    .option("--artifact-type <type>", "only tags whose artifact type is this")
    .option(
      "--all",
      "include the sha256-… tags that index referrers on registries without the referrers API",
    );
  withCommonOptions(command);
  examples(command, [
    "wharf ls 127.0.0.1:5000                 # repositories",
    "wharf ls 127.0.0.1:5000/team/deploy     # tags, digests, artifact types",
    "wharf ls 127.0.0.1:5000/charts/mychart --artifact-type application/vnd.cncf.helm.config.v1+json",
    "WHARF_REGISTRY=127.0.0.1:5000 wharf ls team/deploy --json",
  ]);
  command.action(async (location: string | undefined, options: LsOptions) => {
    await runCommand(options, async (ctx) => {
      const where = parseLocation(location, { defaultRegistry: ctx.client.defaultRegistry });
      const registry = ctx.client.registry(where.registry);
      if (where.repository === undefined) {
        if (options.artifactType)
          throw new UsageError("--artifact-type filters the tags of one repository: name it");
        const repositories: string[] = [];
        for await (const name of registry.catalog()) repositories.push(name);
        if (ctx.json) return ctx.printJson({ registry: where.registry, repositories });
        return ctx.printLines(repositories);
      }
      const repository = where.repository;
      const tags: string[] = [];
      for await (const tag of registry.tags(repository))
        if (options.all || !REFERRER_TAG.test(tag)) tags.push(tag);
      tags.sort();
      const rows = await mapLimit(tags, 8, async (tag) => {
        const data = await registry.getManifest(repository, tag);
        const decoded = decodeManifest(data);
        return {
          tag,
          digest: data.digest,
          mediaType: data.mediaType,
          artifactType: artifactTypeOf(decoded) ?? null,
        };
      });
      const shown = options.artifactType ? rows.filter((r) => r.artifactType === options.artifactType) : rows;
      if (ctx.json) return ctx.printJson({ registry: where.registry, repository, tags: shown });
      if (shown.length === 0) return;
      ctx.print(
        table([
          ["TAG", "DIGEST", "ARTIFACT TYPE"],
          ...shown.map((r) => [r.tag, r.digest, r.artifactType ?? r.mediaType]),
        ]),
      );
    });
  });
}
