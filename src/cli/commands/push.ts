import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { pushArtifact } from "../../client/push.js";
import { formatReference } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { formatBytes } from "./common/format.js";
import { kindDefault, withKindDefault, type KindDefaultOptions } from "./common/kind-option.js";
import {
  indexNamespace,
  maintainIndex,
  pushedChange,
  withIndexOption,
  type IndexOption,
} from "./common/index-option.js";
import { openTarget, parseAnnotations, splitMediaType } from "./common/targets.js";

interface PushOptions extends CommonOptions, KindDefaultOptions {
  artifactType?: string;
  annotation: string[];
  config?: string;
  helm: boolean;
  index?: IndexOption;
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
    .option("--no-helm", "push a packaged Helm chart as a plain file instead of as a chart");
  withIndexOption(command, "then list the artifact");
  withKindDefault(command);
  withCommonOptions(command, { transfers: "upload" });
  examples(command, [
    "wharf push 127.0.0.1:5000/team/deploy:v1 ./k8s/             # a directory: one reproducible layer",
    "wharf push 127.0.0.1:5000/charts/mychart mychart-0.1.0.tgz  # a Helm chart, tagged 0.1.0",
    "wharf push registry.example.com/team/sbom:v1 sbom.json:application/spdx+json --artifact-type application/spdx+json",
    "wharf push reg.example.com/ml/model:v3 model.onnx -a org.opencontainers.image.source=https://git.example.com/ml",
    "DIGEST=$(wharf push 127.0.0.1:5000/team/app:v1 app.tar.gz)  # stdout is the digest alone",
    "wharf push registry.example.com/team/app:v1 ./k8s/ --index  # and list it in team/index:latest",
  ]);
  command.action(async (reference: string, paths: string[], options: PushOptions) => {
    await runCommand(options, async (ctx) => {
      const ref = ctx.client.parse(reference, kindDefault(options));
      if (ref.digest)
        throw new UsageError("push names a tag, not a digest: the digest is what push computes");
      let config: { path: string; mediaType?: string } | undefined;
      if (options.config) config = splitMediaType(options.config);
      const namespace = indexNamespace(ctx, options.index, ref);
      const target = openTarget(ctx, ref);
      const result = await pushArtifact(target, ref.tag, paths.map(splitMediaType), {
        artifactType: options.artifactType,
        annotations: parseAnnotations(options.annotation),
        config,
        detectHelm: options.helm,
        progress: ctx.progress,
        concurrency: ctx.client.concurrency,
      });
      ctx.progress?.stop();
      const pushed = formatReference({ ...ref, tag: result.tag });
      let index;
      if (namespace !== undefined && ref.kind === "registry") {
        const change = () => pushedChange(ctx, ref, result.digest, [result.tag]);
        index = await maintainIndex(ctx, ref, namespace, change, `pushed ${pushed} (${result.digest})`);
      }
      if (ctx.json) {
        ctx.printJson({ reference: pushed, ...result, ...(index ? { index } : {}) });
        return;
      }
      const total = result.layers.reduce((sum, l) => sum + l.size, 0);
      const what = result.helm
        ? `Helm chart ${result.helm.name} ${result.helm.version}`
        : `${result.layers.length} layer(s)`;
      ctx.note(`Pushed ${pushed}: ${what}, ${formatBytes(total)}`);
      ctx.print(result.digest);
    });
  });
}
