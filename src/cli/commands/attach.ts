import type { Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { pushArtifact } from "../../client/push.js";
import { formatReference } from "../../client/reference.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { openTarget, parseAnnotations, splitMediaType, targetReference } from "./common/targets.js";

interface AttachOptions extends CommonOptions {
  artifactType?: string;
  annotation: string[];
}

/** oras-go sets this on every manifest it packs (RFC 3339, UTC, seconds) unless the caller did. */
const CREATED = "org.opencontainers.image.created";

/**
 * `wharf attach REF FILE…`: `push` with REF as the subject, laid out as `oras attach` does (files as
 * titled layers, the empty config, artifactType, the created annotation), pushed by digest beside REF.
 */
export function registerAttach(program: Command): void {
  const command = program
    .command("attach")
    .description(
      "Attach files (an SBOM, an attestation, a report…) to an artifact as a referrer; prints the referrer's digest",
    )
    .argument("<ref>", "the artifact to attach to: host[:port]/repo:tag or @digest, or oci:DIR[:tag]")
    .argument("<files...>", "files (each one layer; FILE:MEDIATYPE sets its type) and directories")
    .option("--artifact-type <type>", "the referrer's artifact type (required), e.g. application/spdx+json")
    .option(
      "-a, --annotation <key=value>",
      "manifest annotation; repeatable",
      (v: string, p: string[]) => [...p, v],
      [],
    );
  withCommonOptions(command, { transfers: "upload" });
  examples(command, [
    "wharf attach 127.0.0.1:5000/team/deploy:v1 sbom.spdx.json:application/spdx+json --artifact-type application/spdx+json",
    "wharf attach 127.0.0.1:5000/team/deploy@sha256:… scan.sarif --artifact-type application/sarif+json -a scanner=trivy",
    "wharf attach oci:./airgap:v1 report.pdf --artifact-type application/pdf   # an OCI layout works too",
  ]);
  command.action(async (reference: string, files: string[], options: AttachOptions) => {
    await runCommand(options, async (ctx) => {
      if (!options.artifactType)
        throw new UsageError(
          "attach needs --artifact-type: it is how the referrer is found (e.g. application/spdx+json)",
        );
      const ref = ctx.client.parse(reference);
      const target = openTarget(ctx, ref);
      const subject = await target.resolve(targetReference(ref));
      const annotations = parseAnnotations(options.annotation);
      const result = await pushArtifact(target, undefined, files.map(splitMediaType), {
        artifactType: options.artifactType,
        annotations: { [CREATED]: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"), ...annotations },
        subject,
        detectHelm: false,
        progress: ctx.progress,
        concurrency: ctx.client.concurrency,
      });
      ctx.progress?.stop();
      const subjectRef = formatReference({ ...ref, tag: undefined, digest: subject.digest });
      const referrer = formatReference({ ...ref, tag: undefined, digest: result.digest });
      if (ctx.json) {
        ctx.printJson({ reference: referrer, subject: subjectRef, ...result });
        return;
      }
      ctx.note(`Attached ${result.layers.length} file(s) to ${subjectRef} as ${options.artifactType}`);
      ctx.print(result.digest);
    });
  });
}
