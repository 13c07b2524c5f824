import { readFile, rm } from "node:fs/promises";
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type CryptoKey,
} from "jose";
import type { Db } from "../metadata/database.js";
import { findSigningKey, insertSigningKeyIfAbsent } from "../metadata/signing-keys.js";

/** Tokens are signed with ES256 only; verification accepts nothing else. */
export const TOKEN_ALGORITHM = "ES256";

export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** JWK thumbprint, sent as `kid`. */
  id: string;
  publicJwk: JWK;
}

/**
 * The token signing key, kept in the database so that every node signs and verifies with the same one.
 * The first node to start stores it (a key from `legacyPath`, where a single-node Wharf kept it, so
 * tokens issued before the upgrade stay valid; otherwise a new one); the others read back what won.
 * The file is deleted once the database holds its key: the private key then lives in one place.
 */
export async function loadOrCreateSigningKey(db: Db, legacyPath: string | undefined): Promise<SigningKey> {
  let stored = await findSigningKey(db);
  const legacy = legacyPath === undefined ? undefined : await readLegacyKey(legacyPath);
  if (stored === undefined) {
    const jwk =
      legacy ?? (await exportJWK((await generateKeyPair(TOKEN_ALGORITHM, { extractable: true })).privateKey));
    await insertSigningKeyIfAbsent(db, JSON.stringify(jwk));
    stored = await findSigningKey(db);
    if (stored === undefined) throw new Error("the token signing key could not be stored in the database");
  }
  const jwk = JSON.parse(stored) as JWK;
  // Another node's key won (several nodes upgraded at once): this file's key signs nothing any more,
  // but is left for the operator rather than deleted unasked.
  if (legacy && legacyPath && legacy.d === jwk.d) await rm(legacyPath, { force: true });
  const { d: _private, ...publicJwk } = jwk;
  const privateKey = (await importJWK(jwk, TOKEN_ALGORITHM)) as CryptoKey;
  const publicKey = (await importJWK(publicJwk, TOKEN_ALGORITHM)) as CryptoKey;
  return { privateKey, publicKey, id: await calculateJwkThumbprint(publicJwk), publicJwk };
}

/** The key a single-node Wharf kept in its data directory, if there is one. */
export async function readLegacyKey(path: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read the token signing key ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as JWK;
  } catch {
    // Never echo the content: it is a private key.
    throw new Error(`the token signing key ${path} is not valid JSON: fix or remove it`);
  }
}
