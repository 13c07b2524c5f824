import { link, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { tempName } from "../../client/atomic.js";
import { UsageError } from "../../client/errors.js";
import {
  encryptPrivateKey,
  generateSigningKey,
  keyFingerprint,
  publicKeyPem,
} from "../../oci/signatures/index.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "./common/context.js";
import { passphrasePrompt } from "./common/passphrase.js";

interface GenerateOptions extends CommonOptions {
  out: string;
}

export function registerKey(program: Command): void {
  const key = program.command("key").description("Manage signing keys");
  examples(key, ["wharf key generate", "WHARF_KEY_PASSWORD=… wharf key generate --out release"]);

  const generate = key
    .command("generate")
    .description(
      "Write an ECDSA P-256 key pair: NAME.key (encrypted, cosign's format) and NAME.pub (PKIX PEM)",
    )
    // Not cosign's default name, so a cosign.key in the same directory is never in the way.
    .option("-o, --out <name>", "path and name of the files, without .key/.pub", "wharf");
  withCommonOptions(generate, { network: false });
  examples(generate, [
    "wharf key generate                          # wharf.key, wharf.pub; asks for a passphrase",
    "WHARF_KEY_PASSWORD=… wharf key generate --out keys/release",
    "wharf sign REF --key wharf.key; wharf verify REF --key wharf.pub",
  ]);
  generate.action(async (options: GenerateOptions) => {
    await runCommand(options, async (ctx) => {
      const privatePath = resolve(`${options.out}.key`);
      const publicPath = resolve(`${options.out}.pub`);
      // Checked before asking for a passphrase; the writes below refuse to overwrite as well.
      for (const path of [privatePath, publicPath]) await refuseExisting(path);
      const passphrase = await newPassphrase(process.env);
      const pair = generateSigningKey();
      await writeNew(privatePath, encryptPrivateKey(pair, passphrase), 0o600);
      try {
        await writeNew(publicPath, publicKeyPem(pair.publicKey), 0o644);
      } catch (err) {
        await rm(privatePath, { force: true });
        throw err;
      }
      const fingerprint = keyFingerprint(pair.publicKey);
      if (ctx.json) return ctx.printJson({ privateKey: privatePath, publicKey: publicPath, fingerprint });
      ctx.print(`Private key written to ${privatePath}`);
      ctx.print(`Public key written to ${publicPath}`);
      ctx.print(`Fingerprint (SHA-256 of the public key): ${fingerprint}`);
    });
  });
}

/** WHARF_KEY_PASSWORD, else typed twice on a terminal; never empty (the key file would be unprotected). */
async function newPassphrase(env: NodeJS.ProcessEnv): Promise<string> {
  let passphrase = env.WHARF_KEY_PASSWORD;
  if (passphrase === undefined) {
    const ask = passphrasePrompt();
    if (!ask)
      throw new UsageError(
        "no passphrase for the private key: set WHARF_KEY_PASSWORD, or run on a terminal to be asked",
      );
    passphrase = await ask("Passphrase for the private key: ");
    if ((await ask("The same passphrase again: ")) !== passphrase)
      throw new UsageError("the two passphrases differ: nothing written");
  }
  if (passphrase === "")
    throw new UsageError("the passphrase is empty: the private key would be unprotected; nothing written");
  return passphrase;
}

async function refuseExisting(path: string): Promise<void> {
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new UsageError(`${path} already exists: not overwritten (choose another --out)`);
}

/**
 * Writes a file that must not exist yet: whole or not at all (a temporary file, then a hard link, which
 * fails if the name was taken meanwhile).
 */
async function writeNew(path: string, content: string, mode: number): Promise<void> {
  const tmp = tempName(dirname(path));
  try {
    await writeFile(tmp, content, { flag: "wx", mode });
    await link(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST")
      throw new UsageError(`${path} already exists: not overwritten (choose another --out)`);
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      throw new UsageError(`cannot write ${path}: directory ${dirname(path)} does not exist`);
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}
