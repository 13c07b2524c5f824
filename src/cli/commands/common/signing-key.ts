import { readFile, stat } from "node:fs/promises";
import { decryptPrivateKey, type SigningKey } from "../../../oci/signatures/index.js";
import { UsageError, errorMessage } from "../../../client/errors.js";
import { prompt } from "./prompt.js";

const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * `--key KEY` for signing: cosign's `cosign.key`, or a PKCS#8 / SEC1 PEM. An encrypted key's passphrase
 * comes from WHARF_KEY_PASSWORD, else a prompt on the terminal. Every failure (no file, a public key, a
 * wrong passphrase) is a usage error naming the file, found before anything is pushed.
 */
export async function readSigningKey(path: string, env: NodeJS.ProcessEnv): Promise<SigningKey> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`--key ${path}: no such file`);
  if (info.size > MAX_KEY_FILE_BYTES) throw new UsageError(`--key ${path}: too large for a key file`);
  const pem = await readFile(path, "utf8");
  if (/-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem) && !/PRIVATE KEY-----/.test(pem))
    throw new UsageError(`--key ${path} is a public key: signing needs the private key (cosign.key)`);
  const encrypted = /-----BEGIN ENCRYPTED /.test(pem);
  if (encrypted && env.WHARF_KEY_PASSWORD === undefined && !process.stdin.isTTY)
    throw new UsageError(`--key ${path} is encrypted: set WHARF_KEY_PASSWORD (no terminal to ask on)`);
  const passphrase = encrypted
    ? (env.WHARF_KEY_PASSWORD ?? (await prompt(`Passphrase for ${path}: `, true)))
    : "";
  try {
    return decryptPrivateKey(pem, passphrase);
  } catch (err) {
    throw new UsageError(`--key ${path}: ${errorMessage(err)}`);
  }
}
