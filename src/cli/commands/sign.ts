import { Option, type Command } from "commander";
import { UsageError } from "../../client/errors.js";
import { formatReference, repositoryOf, type RegistryReference } from "../../client/reference.js";
import { signArtifact, type SignFormat, type SignResult } from "../../client/signing/sign.js";
import type { SigningKey } from "../../oci/signatures/index.js";
import { decodeManifest, type Descriptor } from "../../client/manifest.js";
import {
  examples,
  runCommand,
  withCommonOptions,
  type CommonOptions,
  type Context,
} from "./common/context.js";
import { openTarget, targetReference } from "./common/targets.js";
import { loadSigningKey } from "../../client/signing/keys.js";
import { passphrasePrompt } from "./common/passphrase.js";

/** What `sign --format` and `push --sign-format` choose between. */
export const SIGN_FORMAT_HELP =
  "bundle: a Sigstore bundle v0.3 referrer (cosign v3's default); legacy: a layer of the sha256-<hex>.sig tag (cosign v2, Flux before cosign v3)";

interface SignOptions extends CommonOptions {
  key?: string;
  format: SignFormat;
  recursive?: boolean;
}

export function registerSign(program: Command): void {
  const command = program
    .command("sign")
    .description("Sign an artifact's digest with a key, as cosign does; prints the signature's digest")
    .argument("<ref>", "host[:port]/repo[:tag|@digest]: a tag is resolved once and its digest signed")
    .option("--key <file>", "private key: cosign.key, or the .key of wharf key generate (WHARF_KEY_PASSWORD)")
    .addOption(
      new Option("--format <format>", SIGN_FORMAT_HELP).choices(["bundle", "legacy"]).default("bundle"),
    )
    .option("--recursive", "an index: also sign each manifest it lists (as cosign sign --recursive)");
  withCommonOptions(command);
  examples(command, [
    "wharf sign 127.0.0.1:5000/team/deploy:v1 --key cosign.key",
    "wharf sign 127.0.0.1:5000/team/deploy@sha256:… --key cosign.key --format legacy   # cosign v2's .sig tag",
    "WHARF_KEY_PASSWORD=… wharf sign reg.example.com/team/app:v1 --key cosign.key --json",
  ]);
  command.action(async (reference: string, options: SignOptions) => {
    await runCommand(options, async (ctx) => {
      if (!options.key) throw new UsageError("sign needs --key KEY (a private key: cosign.key)");
      const ref = registryRef(ctx, reference, "sign");
      const key = await readSigningKey(ctx, options.key);
      const target = openTarget(ctx, ref);
      const subject = await target.resolve(targetReference(ref));
      let children: Descriptor[] = [];
      if (options.recursive) {
        const decoded = decodeManifest(await target.fetchManifest(subject));
        if (decoded.kind !== "index")
          throw new UsageError(
            `--recursive signs an index's manifests: ${formatReference(ref)} is not an index`,
          );
        children = decoded.doc.manifests;
      }
      const result = await signResolved(ctx, ref, subject, key, options.format);
      const signed: SignResult[] = [];
      for (const child of children) signed.push(await signResolved(ctx, ref, child, key, options.format));
      if (ctx.json)
        ctx.printJson({
          reference: formatReference({ ...ref, digest: subject.digest }),
          ...result,
          ...(options.recursive ? { manifests: signed } : {}),
        });
      else ctx.printLines([result.signature, ...signed.map((c) => c.signature)]);
    });
  });
}

/** Signs an already resolved digest of `ref` and tells the user (stderr) what was written where. */
export async function signResolved(
  ctx: Context,
  ref: RegistryReference,
  subject: Descriptor,
  key: SigningKey,
  format: SignFormat,
): Promise<SignResult> {
  const result = await signArtifact(openTarget(ctx, ref), subject, repositoryOf(ref), key, { format });
  const signed = formatReference({ ...ref, tag: undefined, digest: subject.digest });
  if (!ctx.json) {
    if (result.existing)
      ctx.note(`${signed} already has this key's signature in ${result.tag}: nothing added`);
    else if (result.tag) ctx.note(`Signed ${signed}: signature ${result.signatures} in ${result.tag}`);
    else ctx.note(`Signed ${signed}: Sigstore bundle referrer ${result.signature}`);
  }
  return result;
}

/** `--key KEY` for signing; an encrypted key's passphrase from WHARF_KEY_PASSWORD or the terminal. */
export function readSigningKey(ctx: Context, path: string): Promise<SigningKey> {
  return loadSigningKey(path, { prompt: passphrasePrompt(), env: ctx.env });
}

/** A registry reference (signatures live beside their artifact in a registry, not in OCI layouts here). */
export function registryRef(ctx: Context, reference: string, command: string): RegistryReference {
  const ref = ctx.client.parse(reference);
  if (ref.kind !== "registry")
    throw new UsageError(`${command} needs a registry reference, not an OCI layout`);
  return ref;
}
