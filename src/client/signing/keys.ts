import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import {
  decryptPrivateKey,
  KeyError,
  parseTrustedKey,
  privateKeyNeedsPassphrase,
  type SigningKey,
  type TrustedKey,
} from "../../oci/signatures/index.js";
import { UsageError } from "../errors.js";

/** A key file is a few kilobytes; refuse to read anything much larger. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

export interface LoadSigningKeyOptions {
  /** Asks for the passphrase (hidden); given only when someone can answer (a terminal). */
  prompt?: (question: string) => Promise<string>;
  env?: NodeJS.ProcessEnv;
}

/**
 * A private key to sign with: Wharf's or cosign's encrypted key file, or a PKCS#8/SEC1 PEM. The
 * passphrase comes from WHARF_KEY_PASSWORD, else COSIGN_PASSWORD (teams with cosign keys already set
 * it; an empty value is a passphrase too, as for cosign), else the prompt.
 */
export async function loadSigningKey(path: string, options: LoadSigningKeyOptions = {}): Promise<SigningKey> {
  const env = options.env ?? process.env;
  const pem = await readKeyFile(path);
  let passphrase = "";
  if (privateKeyNeedsPassphrase(pem)) {
    const fromEnv = env.WHARF_KEY_PASSWORD ?? env.COSIGN_PASSWORD;
    if (fromEnv !== undefined) passphrase = fromEnv;
    else if (options.prompt) passphrase = await options.prompt(`Passphrase for ${path}: `);
    else
      throw new UsageError(
        `${path} is encrypted and there is no terminal to ask for its passphrase: set WHARF_KEY_PASSWORD`,
      );
  }
  try {
    return decryptPrivateKey(pem, passphrase, path);
  } catch (err) {
    if (err instanceof KeyError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

/**
 * Public keys to verify with (`--key`, `--verify-key`), each named after its file (the path itself
 * when two files share a name). A private key is refused: the .pub is what verifying needs.
 */
export async function loadPublicKeys(paths: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  const names = new Set<string>();
  for (const path of paths) {
    const pem = await readKeyFile(path);
    const name = names.has(basename(path)) ? path : basename(path);
    names.add(name);
    try {
      keys.push(parseTrustedKey(name, pem));
    } catch (err) {
      if (!(err instanceof KeyError)) throw err;
      // The library names the key; a user needs the path they typed.
      throw new UsageError(err.message.replace(name, path), { cause: err });
    }
  }
  return keys;
}

async function readKeyFile(path: string): Promise<string> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${path} is not a file`);
    if (info.size > MAX_KEY_FILE_BYTES) throw new UsageError(`${path} is too large to be a key file`);
    return await readFile(path, "utf8");
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
}
