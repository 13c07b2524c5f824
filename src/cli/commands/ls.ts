import type { Command } from "commander";
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
import { table } from "./common/format.js";
import { defaultLocation, printListing, signedCell } from "./common/artifacts.js";
import type { ApiSigned } from "../../client/discovery/api-shapes.js";
import { CATALOG_SOURCE, INDEX_SOURCE, listArtifacts, tryFallbacks } from "../../client/discovery/listing.js";
import { WharfApi } from "../../client/discovery/wharf-api.js";

interface LsOptions extends CommonOptions {
  artifactType?: string;
  kind?: string;
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
      "--kind <kind>",
      "only artifacts of this kind at or below REGISTRY[/NAMESPACE]: a kind id, or the word kind ids end in (chart, policy, sbom; see `wharf kinds`)",
    )
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
    "wharf ls 127.0.0.1:5000 --kind chart    # every Helm chart, with version and size",
    "wharf ls 127.0.0.1:5000/team --kind policy --json",
    "wharf ls oci:./airgap                   # the tags of an OCI layout",
  ]);
  command.action(async (location: string | undefined, options: LsOptions) => {
    await runCommand(options, async (ctx) => {
      const isLayout = location?.trim().startsWith("oci:") && !location.trim().startsWith("oci://");
      if (options.kind !== undefined) {
        if (isLayout) throw new UsageError("--kind lists a registry's artifacts: name a registry");
        if (options.artifactType) throw new UsageError("give --kind or --artifact-type, not both");
        const where = parseLocation(location, { defaultRegistry: defaultLocation(ctx, options.kind) });
        const listing = await listArtifacts(ctx.client, {
          registry: where.registry,
          namespace: where.repository,
          kind: options.kind,
        });
        return printListing(ctx, listing);
      }
      if (isLayout && location !== undefined) {
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
        return printListing(ctx, await listArtifacts(ctx.client, { registry: where.registry }));
      }
      const repository = where.repository;
      const request = { registry: where.registry, namespace: repository };
      // A repository lists its tags; a namespace its artifacts, from Wharf's discovery API, else its
      // index artifact (asked first there, since some registries refuse tags of a name they lack).
      const api = options.artifactType ? null : await WharfApi.open(ctx.client, where.registry);
      const notes: string[] = [];
      if (!api && !options.artifactType) {
        const indexed = await tryFallbacks(ctx.client, request, [INDEX_SOURCE], notes);
        if (indexed) return printListing(ctx, indexed);
      }
      const tags: string[] = [];
      try {
        for await (const tag of registry.tags(repository))
          if (options.all || !REFERRER_TAG.test(tag)) tags.push(tag);
      } catch (err) {
        if (!(err instanceof NotFoundError) || options.artifactType) throw err;
        const listed = await listArtifacts(ctx.client, request, {
          api,
          fallbacks: [CATALOG_SOURCE],
          notes,
        });
        if (listed.artifacts.length === 0)
          throw new NotFoundError(
            `${where.registry}/${repository} is neither a repository nor a namespace with artifacts`,
          );
        return printListing(ctx, listed);
      }
      tags.sort();
      const rows = await mapLimit(tags, 8, async (tag) =>
        describeTag(tag, await registry.getManifest(repository, tag)),
      );
      printTags(
        ctx,
        options,
        { registry: where.registry, repository },
        rows,
        await signedOf(api, repository),
      );
    });
  });
}

/**
 * Which of the repository's artifacts a trusted key signed, by digest, when the registry's discovery API
 * says (Wharf); undefined otherwise. One listing of its artifacts, not one request per tag.
 */
async function signedOf(
  api: WharfApi | null | undefined,
  repository: string,
): Promise<Map<string, ApiSigned> | undefined> {
  if (!api) return undefined;
  const artifacts = await api.artifacts(repository);
  if (!artifacts.items.some((a) => a.signed !== null)) return undefined;
  return new Map(artifacts.items.map((a) => [a.digest, { signed: a.signed, signatures: a.signatures }]));
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
function printTags(
  ctx: Context,
  options: LsOptions,
  where: Record<string, string>,
  rows: TagRow[],
  signed?: Map<string, ApiSigned>,
): void {
  const filtered = options.artifactType ? rows.filter((r) => r.artifactType === options.artifactType) : rows;
  // Tags of artifacts the API does not list on their own (index children, accessories): not known.
  const shown = signed
    ? filtered.map((r) => ({ ...r, ...(signed.get(r.digest) ?? { signed: null, signatures: [] }) }))
    : filtered;
  if (ctx.json) return ctx.printJson({ ...where, tags: shown });
  if (shown.length === 0) return;
  ctx.print(
    table([
      ["TAG", "DIGEST", "ARTIFACT TYPE", ...(signed ? ["SIGNED"] : [])],
      ...shown.map((r) => [
        r.tag,
        r.digest,
        r.artifactType ?? r.mediaType,
        ...(signed ? [signedCell(signed.get(r.digest) ?? { signed: null, signatures: [] })] : []),
      ]),
    ]),
  );
}
