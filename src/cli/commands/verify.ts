import type { Command } from "commander";
import {
  ExitCode,
  UnreachableError,
  UnverifiedError,
  UsageError,
  errorMessage,
} from "../../client/errors.js";
import { formatReference, type Reference } from "../../client/reference.js";
import { loadPublicKeys } from "../../client/signing/keys.js";
import { readTrustStores } from "../../client/signing/trust-store.js";
import { verifyArtifact, verifySummary, type VerifyReport } from "../../client/signing/verify.js";
import type { TrustedKey } from "../../oci/signatures/index.js";
import type { Descriptor } from "../../client/manifest.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";
import { shortDigest, table } from "./common/format.js";
import { openTarget, targetReference } from "./common/targets.js";
import { registryRef } from "./sign.js";

interface VerifyOptions extends CommonOptions {
  key: string[];
  trustStore: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerVerify(program: Command): void {
  const command = program
    .command("verify")
    .description(
      "Check an artifact's signatures (Sigstore bundles, cosign .sig, Notation) against trusted keys",
    )
    .argument("<ref>", "host[:port]/repo[:tag|@digest]")
    .option(
      "--key <file>",
      "a trusted public key (cosign.pub, PKIX PEM) or certificate; repeatable",
      collect,
      [],
    )
    .option(
      "--trust-store <path>",
      "trusted certificates for Notation signatures: a PEM file or a directory (x509/ca/<name>/*.pem); repeatable",
      collect,
      [],
    );
  withCommonOptions(command);
  examples(command, [
    "wharf verify 127.0.0.1:5000/team/deploy:v1 --key cosign.pub",
    "wharf verify 127.0.0.1:5000/team/deploy:v1 --key ci.pub --key release.pub --json",
    "wharf verify reg.example.com/team/app:v1 --trust-store ~/.config/notation/truststore",
  ]);
  command.addHelpText(
    "after",
    `Exit ${ExitCode.Ok} only when a trusted key (or trust-store certificate) signed the digest; ${ExitCode.Unverified} when none did.\n`,
  );
  command.action(async (reference: string, options: VerifyOptions) => {
    await runCommand(options, async (ctx) => {
      const ref = registryRef(ctx, reference, "verify");
      const keys = await trustedKeys(options.key, options.trustStore);
      const subject = await openTarget(ctx, ref).resolve(targetReference(ref));
      const report = await verifyArtifact(openTarget(ctx, ref), subject, keys);
      const name = formatReference({ ...ref, digest: subject.digest });
      const summary = verifySummary(report, name);
      if (ctx.json) ctx.printJson({ reference: name, ...report, summary });
      else {
        ctx.print(table(report.signatures.map(signatureRow)));
        for (const skipped of report.skipped) ctx.note(`skipped: ${skipped}`);
        if (report.verified) ctx.note(`Verified: ${summary}`);
        else ctx.error(summary);
      }
      return report.verified ? ExitCode.Ok : ExitCode.Unverified;
    });
  });
}

/** `--key` and `--trust-store` as trusted keys; at least one must be given. */
export async function trustedKeys(keys: string[], trustStores: string[] = []): Promise<TrustedKey[]> {
  if (keys.length === 0 && trustStores.length === 0)
    throw new UsageError("name the trusted keys: --key cosign.pub (repeatable) or --trust-store PATH");
  return [...(await loadPublicKeys(keys)), ...(await readTrustStores(trustStores))];
}

/**
 * `pull --verify-key`: resolves `ref` once and verifies that digest's signatures before anything is
 * downloaded or written; returns the reference pinned to the verified digest (so the pull cannot get
 * what a moved tag points to now). Needs the registry: signatures are not cached.
 */
export async function verifiedReference(
  ctx: Context,
  ref: Reference,
  keys: TrustedKey[],
): Promise<Reference> {
  const target = openTarget(ctx, ref);
  let subject: Descriptor;
  try {
    subject = await target.resolve(targetReference(ref));
  } catch (err) {
    if (err instanceof UnreachableError)
      throw new UnreachableError(
        `${errorMessage(err)}; --verify-key checks signatures in the registry, which are not cached`,
        {
          cause: err,
        },
      );
    throw err;
  }
  const report = await verifyArtifact(target, subject, keys);
  const name = formatReference({ ...ref, digest: subject.digest });
  const summary = verifySummary(report, name);
  if (!report.verified) throw new UnverifiedError(`refusing to pull: ${summary}`);
  if (!ctx.json) ctx.note(`Verified: ${summary}`);
  return { ...ref, digest: subject.digest };
}

/** format, where it was found, and who signed it or why nobody trusted did. */
function signatureRow(s: VerifyReport["signatures"][number]): string[] {
  const where =
    s.foundBy === "tag"
      ? `${shortDigest(s.manifest)} layer ${shortDigest(s.layer ?? "")}`
      : shortDigest(s.manifest);
  const verdict =
    s.signers.length > 0
      ? `signed by ${s.signers.join(", ")}`
      : `not verified: ${s.problem ?? "no trusted key"}`;
  return [s.format, where, verdict];
}
