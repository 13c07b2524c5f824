import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type CryptoKey,
} from "jose";

/** Tokens are signed with ES256 only; verification accepts nothing else. */
export const TOKEN_ALGORITHM = "ES256";

export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** JWK thumbprint, sent as `kid`. */
  id: string;
  publicJwk: JWK;
}

/** Loads the token signing key from `path`, generating it (mode 0600) on first start. */
export async function loadOrCreateSigningKey(path: string): Promise<SigningKey> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(await readFile(path, "utf8")) as JWK;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`cannot read the token signing key ${path}: ${(err as Error).message}`);
    }
    const pair = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
    jwk = await exportJWK(pair.privateKey);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(jwk), { mode: 0o600 });
    await rename(temp, path);
    await chmod(path, 0o600);
  }
  const { d: _private, ...publicJwk } = jwk;
  const privateKey = (await importJWK(jwk, TOKEN_ALGORITHM)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, TOKEN_ALGORITHM)) as CryptoKey;
  return { privateKey, publicKey, id: await calculateJwkThumbprint(publicJwk), publicJwk };
}
