import type { Command } from "commander";
import { discover, fromCatalog, fromIndex } from "../../client/discovery/index.js";
import { NotFoundError, UsageError } from "../../client/errors.js";
import { mapLimit } from "../../client/limit.js";
import { LayoutTarget } from "../../client/layout.js";
import { artifactTypeOf, decodeManifest, type ManifestData } from "../../client/manifest.js";
import { parseLocation } from "../../client/reference.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";
import { printArtifacts } from "./common/artifacts.js";
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
    .description(
      "List a registry's or namespace's artifacts with kind, title and version, or a repository's tags",
    )
    .argument(
      "[location]",
      "HOST[:port][/NAMESPACE] (artifacts), HOST[:port]/REPO (tags; default: WHARF_REGISTRY) or oci:DIR (a layout's tags)",
    )
    .option("--artifact-type <type>", "only tags whose artifact type is this")
    .option(
      "--all",
      "include the sha256-… tags that index referrers on registries without the referrers API",
    );
  withCommonOptions(command);
  examples(command, [
    "wharf ls 127.0.0.1:5000                 # artifacts: from index:latest, else the catalog and tags (slow)",
    "wharf ls registry.example.com/team      # from team/index:latest (see push --index)",
    "wharf ls 127.0.0.1:5000/team/deploy     # tags, digests, artifact types",
    "wharf ls 127.0.0.1:5000/charts/mychart --artifact-type application/vnd.cncf.helm.config.v1+json",
    "WHARF_REGISTRY=127.0.0.1:5000 wharf ls team/deploy --json",
    "wharf ls oci:./airgap                   # the tags of an OCI layout",
  ]);
  command.action(async (location: string | undefined, options: LsOptions) => {
    await runCommand(options, async (ctx) => {
      if (location?.trim().startsWith("oci:") && !location.trim().startsWith("oci://")) {
        const ref = ctx.client.parse(location);
        if (ref.kind !== "layout" || ref.tag || ref.digest)
          throw new UsageError(`${location}: name the layout directory only, as oci:DIR`);
        const layout = new LayoutTarget(ref.path);
        const tags = (await layout.tags()).filter((t) => options.all || !REFERRER_TAG.test(t));
        const rows = await mapLimit(tags, 8, async (tag) =>
          describeTag(tag, await layout.fetchManifest(await layout.resolve(tag))),
        );
        return printTags(ctx, options, { layout: ref.path }, rows);
      }
      const where = parseLocation(location, { defaultRegistry: ctx.client.defaultRegistry });
      const registry = ctx.client.registry(where.registry);
      if (where.repository === undefined) {
        if (options.artifactType)
          throw new UsageError("--artifact-type filters the tags of one repository: name it");
        return printArtifacts(ctx, await discover(ctx.client, { registry: where.registry }));
      }
      const repository = where.repository;
      // A namespace with an index lists its artifacts; else it is a repository, and when it has no
      // tags, a namespace listed the slow way.
      const query = { registry: where.registry, namespace: repository };
      const notes: string[] = [];
      const indexed = options.artifactType ? null : await fromIndex(registry, query, notes);
      if (indexed) return printArtifacts(ctx, indexed);
      const tags: string[] = [];
      try {
        for await (const tag of registry.tags(repository))
          if (options.all || !REFERRER_TAG.test(tag)) tags.push(tag);
      } catch (err) {
        if (!(err instanceof NotFoundError) || options.artifactType) throw err;
        const listed = await fromCatalog(registry, query, notes);
        if (listed.artifacts.length === 0)
          throw new NotFoundError(
            `${where.registry}/${repository} is neither a repository nor a namespace with artifacts`,
          );
        return printArtifacts(ctx, listed);
      }
      tags.sort();
      const rows = await mapLimit(tags, 8, async (tag) =>
        describeTag(tag, await registry.getManifest(repository, tag)),
      );
      printTags(ctx, options, { registry: where.registry, repository }, rows);
    });
  });
}

interface TagRow {
  tag: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
}

function describeTag(tag: string, data: ManifestData): TagRow {
  const decoded = decodeManifest(data);
  return {
    tag,
    digest: data.digest,
    mediaType: data.mediaType,
    artifactType: artifactTypeOf(decoded) ?? null,
  };
}

/** The tags table (or JSON), of a registry repository or a layout, filtered by --artifact-type. */
function printTags(ctx: Context, options: LsOptions, where: Record<string, string>, rows: TagRow[]): void {
  const shown = options.artifactType ? rows.filter((r) => r.artifactType === options.artifactType) : rows;
  if (ctx.json) return ctx.printJson({ ...where, tags: shown });
  if (shown.length === 0) return;
  ctx.print(
    table([
      ["TAG", "DIGEST", "ARTIFACT TYPE"],
      ...shown.map((r) => [r.tag, r.digest, r.artifactType ?? r.mediaType]),
    ]),
  );
}
