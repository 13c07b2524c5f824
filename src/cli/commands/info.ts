import type { Command } from "commander";
import { UnreachableError } from "../../client/errors.js";
import { CachingFetcher } from "../../client/fetcher.js";
import { artifactTypeOf, decodeManifest, type Descriptor } from "../../client/manifest.js";
import { Annotation } from "../../client/push.js";
import { formatReference } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { formatBytes, shortDigest, table } from "./common/format.js";
import { openTarget, targetReference } from "./common/targets.js";
import { accessoryLines, actionLines, describeInfoKind, factRows, signedRows } from "./common/kind-info.js";
import { kindDefault, withKindDefault, type KindDefaultOptions } from "./common/kind-option.js";
import {
  pinned,
  policyFromOptions,
  resolutionJson,
  resolvePolicy,
  withPolicyOptions,
  type PolicyOptions,
} from "./common/policy-options.js";

interface InfoOptions extends CommonOptions, KindDefaultOptions, PolicyOptions {
  referrers: boolean;
}

export function registerInfo(program: Command): void {
  const command = program
    .command("info")
    .description("Describe an artifact without downloading its layers")
    .argument("<ref>", "host[:port]/repo[:tag|@digest], or oci:DIR[:tag]")
    .option("--no-referrers", "do not look up signatures, SBOMs and other referrers");
  withPolicyOptions(command);
  withKindDefault(command);
  withCommonOptions(command);
  examples(command, [
    "wharf info 127.0.0.1:5000/team/deploy:v1",
    "wharf info 127.0.0.1:5000/team/app:v1 --json | jq -r .digest",
    "wharf info oci:./layout:v1",
    "wharf info 127.0.0.1:5000/team/app --semver '^1.2'   # the version a policy picks",
    "wharf info --kind chart mychart:0.1.0   # a short name: says which default it resolved through",
  ]);
  command.action(async (reference: string, options: InfoOptions) => {
    await runCommand(options, async (ctx) => {
      const resolvedName = ctx.client.resolve(reference, kindDefault(options));
      const through = resolvedName.through;
      let ref = resolvedName.ref;
      const policy = policyFromOptions(options);
      const chosen = policy && (await resolvePolicy(ctx, ref, policy));
      const resolution = policy && chosen ? resolutionJson(ref, chosen, policy) : undefined;
      if (chosen) ref = pinned(ref, chosen);
      let descriptor: Descriptor;
      let bytes: Buffer;
      let offline = false;
      let offlineReason: string | undefined;
      if (ref.kind === "registry") {
        // Through the cache, so that info works offline for what was pulled.
        const fetcher = new CachingFetcher(ctx.client, ctx.cache());
        const resolved = await fetcher.resolve(ref);
        offline = resolved.fromCache;
        offlineReason = resolved.offlineReason;
        descriptor = resolved.descriptor;
        bytes = (await fetcher.manifest(ref, descriptor)).bytes;
      } else {
        const target = openTarget(ctx, ref);
        descriptor = await target.resolve(targetReference(ref));
        bytes = (await target.fetchManifest(descriptor)).bytes;
      }
      const decoded = decodeManifest({ bytes, mediaType: descriptor.mediaType, digest: descriptor.digest });
      let referrers: Descriptor[] | undefined;
      if (options.referrers && !offline) {
        try {
          referrers = await openTarget(ctx, ref).referrers(descriptor);
        } catch (err) {
          if (!(err instanceof UnreachableError)) throw err;
        }
      }
      const kind = await describeInfoKind(ctx, ref, descriptor, bytes, referrers, offline);
      const doc = decoded.doc;
      const info = {
        reference: formatReference(ref),
        ...(through ? { resolvedThrough: through } : {}),
        ...(resolution ? { resolution } : {}),
        digest: descriptor.digest,
        mediaType: descriptor.mediaType,
        artifactType: artifactTypeOf(decoded),
        size: bytes.length,
        annotations: doc.annotations ?? {},
        ...(decoded.kind === "image"
          ? {
              config: decoded.doc.config,
              layers: decoded.doc.layers,
              contentSize: [decoded.doc.config, ...decoded.doc.layers].reduce((s, d) => s + d.size, 0),
            }
          : { manifests: decoded.doc.manifests }),
        ...(doc.subject ? { subject: doc.subject } : {}),
        ...(referrers ? { referrers } : {}),
        kind: kind.kind,
        kindSource: kind.source,
        facts: kind.facts,
        accessories: kind.accessories,
        actions: kind.actions,
        ...(kind.signed ?? {}),
        ...(offline ? { offline: true } : {}),
      };
      if (ctx.json) return ctx.printJson(info);

      const rows: string[][] = [
        ["Reference:", info.reference],
        ...(through ? [["Resolved through:", through]] : []),
        ...(chosen ? [["Chosen by policy:", `${chosen.tag} of ${chosen.candidates} matching tag(s)`]] : []),
        ["Digest:", info.digest],
        ["Media type:", info.mediaType],
      ];
      if (info.artifactType) rows.push(["Artifact type:", info.artifactType]);
      rows.push(["Kind:", `${kind.kind.title} (${kind.kind.id}, icon ${kind.kind.icon})`]);
      rows.push(...factRows(kind.facts));
      rows.push(["Manifest size:", formatBytes(info.size)]);
      if (decoded.kind === "image") {
        const content = [decoded.doc.config, ...decoded.doc.layers].reduce((sum, d) => sum + d.size, 0);
        rows.push(["Content size:", formatBytes(content)]);
        rows.push(["Config:", `${decoded.doc.config.mediaType}  ${formatBytes(decoded.doc.config.size)}`]);
      }
      if (doc.subject) rows.push(["Subject:", `${doc.subject.digest} (${doc.subject.mediaType})`]);
      if (kind.signed) rows.push(...signedRows(kind.signed));
      const lines = [table(rows)];
      const annotations = Object.entries(info.annotations);
      if (annotations.length) lines.push("Annotations:", table(annotations.map(([k, v]) => [`  ${k}:`, v])));
      if (decoded.kind === "image") {
        lines.push(`Layers (${decoded.doc.layers.length}):`);
        if (decoded.doc.layers.length) {
          lines.push(
            table(
              decoded.doc.layers.map((l) => [
                `  ${l.annotations?.[Annotation.Title] ?? "-"}`,
                l.mediaType,
                formatBytes(l.size),
                shortDigest(l.digest),
              ]),
            ),
          );
        }
      } else {
        lines.push(`Manifests (${decoded.doc.manifests.length}):`);
        lines.push(
          table(
            decoded.doc.manifests.map((m) => [
              `  ${m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ""}` : "-"}`,
              m.artifactType ?? m.mediaType,
              formatBytes(m.size),
              m.digest,
            ]),
          ),
        );
      }
      if (referrers) {
        lines.push(`Referrers (${referrers.length}):`);
        if (referrers.length) {
          lines.push(table(referrers.map((r) => [`  ${r.artifactType ?? r.mediaType}`, r.digest])));
        }
      } else if (options.referrers) lines.push("Referrers: unknown (registry unreachable)");
      lines.push(...accessoryLines(kind.accessories), ...actionLines(kind.actions));
      if (offline) ctx.note(`${offlineReason ?? "the registry is unreachable"}: described from the cache`);
      ctx.print(lines.join("\n"));
    });
  });
}
