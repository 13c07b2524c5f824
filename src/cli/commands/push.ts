import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { pushArtifact } from "../../client/push.js";
import { formatReference } from "../../client/reference.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";
import { formatBytes } from "./common/format.js";
import { kindDefault, withKindDefault, type KindDefaultOptions } from "./common/kind-option.js";
import {
  indexNamespace,
  maintainIndex,
  pushedChange,
  withIndexOption,
  type IndexOption,
} from "./common/index-option.js";
import { openTarget, parseAnnotations, splitMediaType, targetReference } from "./common/targets.js";
import type { Descriptor } from "../../client/manifest.js";
import type { Reference, RegistryReference } from "../../client/reference.js";
import { declaredGate, runGate, type Gate } from "../../client/gate.js";
import { checkPushedKind } from "../../client/kind-checks.js";
import { FORCE_HELP } from "./common/force-option.js";
import { SIGN_FORMAT_HELP, readSigningKey, signResolved } from "./sign.js";
import type { SignFormat } from "../../client/signing/sign.js";
import { FluxAnnotation } from "../../client/flux/artifact.js";

interface PushOptions extends CommonOptions, KindDefaultOptions {
  artifactType?: string;
  annotation: string[];
  config?: string;
  helm: boolean;
  /** `--gate CMD`, `--no-gate` (false), or neither (the pushed directory's wharf.yaml decides). */
  gate?: string | false;
  index?: IndexOption;
  subject?: string;
  force?: boolean;
  sign?: boolean;
  key?: string;
  signFormat?: SignFormat;
  format?: string;
  source?: string;
  revision?: string;
}

export function registerPush(program: Command): void {
  const command = program
    .command("push")
    .description("Push files and directories as one artifact; prints its digest")
    .argument("<ref>", "where to push: host[:port]/repo[:tag], or oci:DIR[:tag] for an OCI layout")
    .argument(
      "<paths...>",
      "files (each one layer; FILE:MEDIATYPE sets its type) and directories (one tar+gzip layer each)",
    )
    .option("--artifact-type <type>", "the artifact's type (default application/vnd.unknown.artifact.v1)")
    .option(
      "-a, --annotation <key=value>",
      "manifest annotation; repeatable",
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .option("--config <file[:mediatype]>", "use this file as the config blob")
    .option(
      "--subject <ref>",
      "make the artifact a referrer of this manifest (tag, digest, or @sha256:…/:tag in the same repository); pushed by digest unless <ref> has a tag",
    )
    .option(
      "--format <format>",
      "flux: push one directory exactly as `flux push artifact` does (Flux's config and tar+gzip layer), for a Flux OCIRepository",
    )
    .option(
      "--source <url>",
      "where the content comes from, e.g. the Git URL (org.opencontainers.image.source)",
    )
    .option(
      "--revision <rev>",
      "its revision, e.g. <branch>@sha1:<commit> (org.opencontainers.image.revision)",
    )
    .option("--no-helm", "push a packaged Helm chart as a plain file instead of as a chart")
    .option(
      "--gate <command>",
      "run this shell command first (in the pushed directory, WHARF_REF set) and push nothing if it fails; default: the gate: of the directory's wharf.yaml",
    )
    .option("--no-gate", "skip the gate and the kind's own checks (a chart's version is its tag, …)")
    .option("--force", FORCE_HELP)
    .option("--sign", "then sign the pushed digest with --key, as wharf sign does")
    .option("--key <file>", "with --sign: the private key (cosign.key; passphrase from WHARF_KEY_PASSWORD)")
    .addOption(
      // No commander default: given without --sign it is refused, like --key.
      new Option("--sign-format <format>", `with --sign: ${SIGN_FORMAT_HELP} (default bundle)`).choices([
        "bundle",
        "legacy",
      ]),
    );
  withIndexOption(command, "then list the artifact");
  withKindDefault(command);
  withCommonOptions(command, { transfers: "upload" });
  examples(command, [
    "wharf push 127.0.0.1:5000/team/deploy:v1 ./k8s/             # a directory: one reproducible layer",
    "wharf push 127.0.0.1:5000/charts/mychart mychart-0.1.0.tgz  # a Helm chart, tagged 0.1.0",
    "wharf push registry.example.com/team/sbom:v1 sbom.json:application/spdx+json --artifact-type application/spdx+json",
    "wharf push reg.example.com/ml/model:v3 model.onnx -a org.opencontainers.image.source=https://git.example.com/ml",
    "DIGEST=$(wharf push 127.0.0.1:5000/team/app:v1 app.tar.gz)  # stdout is the digest alone",
    "wharf push 127.0.0.1:5000/team/deploy:v2 ./k8s/ --gate 'kubeconform -summary .'  # publish only if it passes",
    "wharf push registry.example.com/team/app:v1 ./k8s/ --index  # and list it in team/index:latest",
    "wharf push 127.0.0.1:5000/team/app sbom.json:application/spdx+json --artifact-type application/spdx+json --subject :v1",
    "wharf push 127.0.0.1:5000/team/deploy:v1 ./k8s/ --format flux --sign --key cosign.key --sign-format legacy  # for Flux before cosign v3",
    'wharf push 127.0.0.1:5000/team/deploy:v1 ./k8s/ --format flux --source "$(git config --get remote.origin.url)" --revision "main@sha1:$(git rev-parse HEAD)"',
  ]);
  command.action(async (reference: string, paths: string[], options: PushOptions) => {
    await runCommand(options, async (ctx) => {
      const ref = ctx.client.parse(reference, kindDefault(options));
      if (ref.digest)
        throw new UsageError("push names a tag, not a digest: the digest is what push computes");
      let config: { path: string; mediaType?: string } | undefined;
      if (options.config) config = splitMediaType(options.config);
      // The key (and its passphrase) before anything is uploaded: a bad key must not leave an unsigned push.
      if (options.key && !options.sign) throw new UsageError("--key goes with --sign");
      if (options.signFormat && !options.sign) throw new UsageError("--sign-format goes with --sign");
      if (options.sign && !options.key)
        throw new UsageError("--sign needs --key KEY (a private key: cosign.key)");
      if (options.sign && ref.kind !== "registry")
        throw new UsageError("--sign needs a registry push target: signatures live beside their artifact");
      const signingKey = options.sign && options.key ? await readSigningKey(ctx, options.key) : undefined;
      const namespace = indexNamespace(ctx, options.index, ref);
      const target = openTarget(ctx, ref);
      const subject =
        options.subject === undefined ? undefined : await resolveSubject(ctx, ref, options.subject);
      const result = await pushArtifact(target, ref.tag, paths.map(splitMediaType), {
        ...(pushFormat(options.format) ? { format: "flux" as const } : {}),
        artifactType: options.artifactType,
        annotations: sourceAnnotations(options, parseAnnotations(options.annotation)),
        config,
        detectHelm: options.helm,
        ...(subject ? { subject } : {}),
        force: options.force,
        beforePublish: async (plan) => {
          if (options.gate === false) return;
          await checkPushedKind(plan);
          const published = formatReference({ ...ref, tag: plan.tag });
          for (const gate of await gatesFor(options.gate, paths)) {
            ctx.note(`Running the gate ${gate.command} in ${gate.cwd} for ${published}`);
            await runGate(gate, published, process.env);
          }
        },
        progress: ctx.progress,
        concurrency: ctx.client.concurrency,
      });
      ctx.progress?.stop();
      const pushed = result.tag
        ? formatReference({ ...ref, tag: result.tag })
        : formatReference({ ...ref, digest: result.digest });
      if (!ctx.json) {
        const total = result.layers.reduce((sum, l) => sum + l.size, 0);
        const what = result.helm
          ? `Helm chart ${result.helm.name} ${result.helm.version}`
          : `${result.layers.length} layer(s)`;
        ctx.note(`Pushed ${pushed}: ${what}, ${formatBytes(total)}`);
      }
      // Signed by digest, after the push (the key was loaded before it).
      const signed =
        signingKey && ref.kind === "registry"
          ? await signResolved(
              ctx,
              ref,
              { mediaType: result.mediaType, digest: result.digest, size: result.size },
              signingKey,
              options.signFormat ?? "bundle",
            )
          : undefined;
      let index;
      if (namespace !== undefined && ref.kind === "registry") {
        const change = () => pushedChange(ctx, ref, result.digest, result.tag ? [result.tag] : []);
        index = await maintainIndex(ctx, ref, namespace, change, `pushed ${pushed} (${result.digest})`);
      }
      if (ctx.json) {
        ctx.printJson({
          reference: pushed,
          ...result,
          ...(index ? { index } : {}),
          ...(signed ? { signature: signed.signature } : {}),
        });
        return;
      }
      ctx.print(result.digest);
    });
  });
}

/** `--format`: only `flux` (undefined: Wharf's own layout). */
function pushFormat(format: string | undefined): "flux" | undefined {
  if (format === undefined) return undefined;
  if (format !== "flux")
    throw new UsageError(`unknown --format ${JSON.stringify(format)}: the one format push knows is flux`);
  return "flux";
}

/**
 * `--source`/`--revision` as the OCI annotations Flux reads (with any --format: they are standard
 * annotations); `-a` with the same key wins.
 */
function sourceAnnotations(
  options: PushOptions,
  annotations: Record<string, string>,
): Record<string, string> {
  return {
    ...(options.source !== undefined ? { [FluxAnnotation.Source]: options.source } : {}),
    ...(options.revision !== undefined ? { [FluxAnnotation.Revision]: options.revision } : {}),
    ...annotations,
  };
}

/**
 * `--subject REF` → the subject manifest's descriptor, resolved in the push's own registry. A bare
 * `@sha256:…` or `:tag` names the pushed repository.
 */
async function resolveSubject(ctx: Context, ref: Reference, input: string): Promise<Descriptor> {
  if (ref.kind !== "registry")
    throw new UsageError("--subject needs a registry push target: OCI layouts have no referrers here");
  let subject: RegistryReference;
  if (input.startsWith("@") || input.startsWith(":")) {
    const parsed = ctx.client.parse(`${ref.registry}/${ref.repository}${input}`);
    if (parsed.kind !== "registry") throw new UsageError(`--subject ${JSON.stringify(input)}: bad reference`);
    subject = parsed;
  } else {
    const parsed = ctx.client.parse(input);
    if (parsed.kind !== "registry" || parsed.registry !== ref.registry)
      throw new UsageError(
        `--subject ${JSON.stringify(input)} must be in the push's registry ${ref.registry} (a referrer lives beside its subject)`,
      );
    subject = parsed;
  }
  if (!subject.tag && !subject.digest)
    throw new UsageError(`--subject ${JSON.stringify(input)} needs a tag or digest`);
  if (subject.repository !== ref.repository)
    throw new UsageError(
      `--subject ${JSON.stringify(input)} must be in the pushed repository ${ref.repository}: referrers are listed per repository`,
    );
  return openTarget(ctx, subject).resolve(targetReference(subject));
}

/**
 * The gates to run: `--gate CMD` (in the pushed directory when exactly one is pushed, else here), or else
 * the gate each pushed directory declares in its wharf.yaml, in its own directory.
 */
async function gatesFor(flag: string | undefined, paths: string[]): Promise<Gate[]> {
  const dirs: string[] = [];
  for (const path of paths) {
    const { path: file } = splitMediaType(path);
    if (
      await stat(file).then(
        (s) => s.isDirectory(),
        () => false,
      )
    )
      dirs.push(resolve(file));
  }
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--gate needs a command");
    return [
      { command: flag, cwd: dirs.length === 1 ? (dirs[0] as string) : process.cwd(), origin: "--gate" },
    ];
  }
  const gates: Gate[] = [];
  for (const dir of dirs) {
    const gate = await declaredGate(dir);
    if (gate) gates.push(gate);
  }
  return gates;
}
