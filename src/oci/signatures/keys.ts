import type { KeyObject } from "node:crypto";
import type { SigningKey, TrustedKey } from "./types.js";

/** A key file that cannot be used: wrong passphrase, unknown format, unsupported algorithm. */
export class KeyError extends Error {}

/** A fresh ECDSA P-256 key pair. */
export function generateSigningKey(): SigningKey {
  throw new Error("not implemented: generateSigningKey");
}

/** The private key as cosign writes it (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt + NaCl secretbox). */
export function encryptPrivateKey(_key: SigningKey, _passphrase: string): string {
  throw new Error("not implemented: encryptPrivateKey");
}

/**
 * A private key file: cosign's/sigstore's encrypted format (also the older `ENCRYPTED COSIGN PRIVATE
 * KEY`), an encrypted or plain PKCS#8 PEM, or a SEC1 `EC PRIVATE KEY`.
 */
export function decryptPrivateKey(_pem: string, _passphrase: string): SigningKey {
  throw new Error("not implemented: decryptPrivateKey");
}

/** PKIX (SPKI) PEM, what cosign.pub holds. */
export function publicKeyPem(_key: KeyObject): string {
  throw new Error("not implemented: publicKeyPem");
}

/** A public key file: PKIX PEM (cosign.pub) or an X.509 certificate (its key; Notation chains to it). */
export function parseTrustedKey(_name: string, _pem: string): TrustedKey {
  throw new Error("not implemented: parseTrustedKey");
}

/** Hex SHA-256 of the key's SPKI DER: the key's stable identity (also the bundle's key hint). */
export function keyFingerprint(_key: KeyObject): string {
  throw new Error("not implemented: keyFingerprint");
}
