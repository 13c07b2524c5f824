import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  scryptSync,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import type { SigningKey, TrustedKey } from "./types.js";

/** A key file that cannot be used: wrong passphrase, unknown format, unsupported algorithm. */
export class KeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KeyError";
  }
}

/** The PEM type cosign (sigstore/sigstore pkg/cryptoutils) writes for `cosign generate-key-pair`. */
export const SIGSTORE_PRIVATE_KEY_PEM = "ENCRYPTED SIGSTORE PRIVATE KEY";
/** The same format under the name cosign used before v2. */
export const COSIGN_PRIVATE_KEY_PEM = "ENCRYPTED COSIGN PRIVATE KEY";

// go-securesystemslib's `encrypted` package: scrypt with these parameters, then NaCl secretbox.
// Encrypt writes the "standard" set (N = 2^16); Decrypt accepts the legacy (2^15), standard and OWASP
// (2^17) sets and nothing else, so a tampered file cannot make us burn unbounded memory and time.
const SCRYPT = { N: 65536, r: 8, p: 1 };
const ACCEPTED_SCRYPT_N = new Set([32768, 65536, 131072]);
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const BOX_KEY_BYTES = 32;
/** A key file is a few kilobytes; anything much larger is not one. */
const MAX_PEM_CHARS = 64 * 1024;

/** A fresh ECDSA P-256 key pair. */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicKey };
}

/** The private key as cosign writes it (`ENCRYPTED SIGSTORE PRIVATE KEY`: scrypt + NaCl secretbox). */
export function encryptPrivateKey(key: SigningKey, passphrase: string): string {
  const der = key.privateKey.export({ type: "pkcs8", format: "der" });
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const boxKey = deriveBoxKey(passphrase, salt, SCRYPT);
  const sealed = xsalsa20poly1305(boxKey, nonce).encrypt(der);
  // Field order and names exactly as Go's json.Marshal writes go-securesystemslib's struct ([]byte as
  // standard base64), so cosign reads the file and the bytes look like cosign's own.
  const json =
    `{"kdf":{"name":"scrypt","params":{"N":${SCRYPT.N},"r":${SCRYPT.r},"p":${SCRYPT.p}},` +
    `"salt":"${salt.toString("base64")}"},` +
    `"cipher":{"name":"nacl/secretbox","nonce":"${nonce.toString("base64")}"},` +
    `"ciphertext":"${Buffer.from(sealed).toString("base64")}"}`;
  return pemEncode(SIGSTORE_PRIVATE_KEY_PEM, Buffer.from(json, "utf8"));
}

/**
 * A private key file: cosign's/sigstore's encrypted format (also the older `ENCRYPTED COSIGN PRIVATE
 * KEY`), an encrypted or plain PKCS#8 PEM, or a SEC1 `EC PRIVATE KEY`. `source` names the file in
 * messages.
 */
export function decryptPrivateKey(pem: string, passphrase: string, source = "the private key"): SigningKey {
  const block = singlePemBlock(pem, source);
  let privateKey: KeyObject;
  if (block.type === SIGSTORE_PRIVATE_KEY_PEM || block.type === COSIGN_PRIVATE_KEY_PEM) {
    const der = openSecretBox(block.body, passphrase, source);
    privateKey = parsePrivateDer(der, source);
  } else if (
    block.type === "PRIVATE KEY" ||
    block.type === "ENCRYPTED PRIVATE KEY" ||
    block.type === "EC PRIVATE KEY" ||
    block.type === "RSA PRIVATE KEY"
  ) {
    const encrypted = block.type === "ENCRYPTED PRIVATE KEY" || /^Proc-Type:\s*4,ENCRYPTED/m.test(pem);
    try {
      privateKey = createPrivateKey({ key: pem, format: "pem", passphrase });
    } catch (err) {
      if (encrypted) throw new KeyError(`wrong passphrase for ${source}`, { cause: err });
      throw new KeyError(`${source} is not a readable ${block.type} PEM`, { cause: err });
    }
  } else if (block.type === "PUBLIC KEY" || block.type === "CERTIFICATE") {
    throw new KeyError(`${source} holds a ${block.type.toLowerCase()}, not a private key`);
  } else {
    throw new KeyError(`${source}: unsupported PEM type "${block.type}" (expected a cosign or PKCS#8 key)`);
  }
  checkAlgorithm(privateKey, source);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** Whether reading this private key file needs a passphrase (so callers ask for one only then). */
export function privateKeyNeedsPassphrase(pem: string): boolean {
  const type = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
  return (
    type === SIGSTORE_PRIVATE_KEY_PEM ||
    type === COSIGN_PRIVATE_KEY_PEM ||
    type === "ENCRYPTED PRIVATE KEY" ||
    /^Proc-Type:\s*4,ENCRYPTED/m.test(pem)
  );
}

/** PKIX (SPKI) PEM, what cosign.pub holds. */
export function publicKeyPem(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return pemEncode("PUBLIC KEY", pub.export({ type: "spki", format: "der" }));
}

/** A public key file: PKIX PEM (cosign.pub) or an X.509 certificate (its key; Notation chains to it). */
export function parseTrustedKey(name: string, pem: string): TrustedKey {
  const block = singlePemBlock(pem, name);
  if (/PRIVATE KEY/.test(block.type))
    throw new KeyError(`${name} is a private key: give its public key (the .pub file) instead`);
  let trusted: TrustedKey;
  if (block.type === "PUBLIC KEY") {
    try {
      trusted = { name, key: createPublicKey({ key: block.body, format: "der", type: "spki" }) };
    } catch (err) {
      throw new KeyError(`${name} is not a readable PKIX public key`, { cause: err });
    }
  } else if (block.type === "CERTIFICATE") {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block.body);
    } catch (err) {
      throw new KeyError(`${name} is not a readable X.509 certificate`, { cause: err });
    }
    trusted = { name, key: certificate.publicKey, certificate };
  } else {
    throw new KeyError(
      `${name}: unsupported PEM type "${block.type}" (expected a PUBLIC KEY, as in cosign.pub, or a CERTIFICATE)`,
    );
  }
  checkAlgorithm(trusted.key, name);
  return trusted;
}

/** Hex SHA-256 of the key's SPKI DER: the key's stable identity (also the bundle's key hint). */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/**
 * The algorithms worth trusting: ECDSA on the NIST curves cosign and Notation use, RSA of at least
 * 2048 bits, Ed25519.
 */
function checkAlgorithm(key: KeyObject, source: string): void {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === "ec") {
    const curve = details.namedCurve;
    if (curve === "prime256v1" || curve === "secp384r1" || curve === "secp521r1") return;
    throw new KeyError(`${source}: ECDSA curve ${curve ?? "?"} is not supported (use P-256, P-384 or P-521)`);
  }
  if (type === "rsa" || type === "rsa-pss") {
    const bits = details.modulusLength ?? 0;
    if (bits >= 2048) return;
    throw new KeyError(`${source}: an RSA key of ${bits} bits is too weak (at least 2048 needed)`);
  }
  if (type === "ed25519") return;
  throw new KeyError(
    `${source}: ${type ?? "unknown"} keys are not supported (use ECDSA P-256/P-384/P-521, RSA or Ed25519)`,
  );
}

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

function deriveBoxKey(passphrase: string, salt: Buffer, params: ScryptParams): Buffer {
  return scryptSync(Buffer.from(passphrase, "utf8"), salt, BOX_KEY_BYTES, {
    N: params.N,
    r: params.r,
    p: params.p,
    // Node's default (32 MiB) is below what N = 2^16, r = 8 needs (64 MiB): 128·N·r plus slack.
    maxmem: 128 * params.N * params.r + 16 * 1024 * 1024,
  });
}

/** go-securesystemslib `encrypted.Decrypt`: the JSON envelope, scrypt, then secretbox. */
function openSecretBox(body: Buffer, passphrase: string, source: string): Buffer {
  const unreadable = (why: string) => new KeyError(`${source} is not a readable cosign key file: ${why}`);
  let envelope: unknown;
  try {
    envelope = JSON.parse(body.toString("utf8"));
  } catch {
    throw unreadable("its content is not JSON");
  }
  const e = envelope as {
    kdf?: { name?: unknown; params?: { N?: unknown; r?: unknown; p?: unknown }; salt?: unknown };
    cipher?: { name?: unknown; nonce?: unknown };
    ciphertext?: unknown;
  } | null;
  if (e?.kdf?.name !== "scrypt") throw unreadable(`unknown key derivation ${JSON.stringify(e?.kdf?.name)}`);
  if (e.cipher?.name !== "nacl/secretbox")
    throw unreadable(`unknown cipher ${JSON.stringify(e.cipher?.name)}`);
  const { N, r, p } = e.kdf.params ?? {};
  if (typeof N !== "number" || !ACCEPTED_SCRYPT_N.has(N) || r !== 8 || p !== 1)
    throw unreadable("unexpected scrypt parameters");
  if (
    typeof e.kdf.salt !== "string" ||
    typeof e.cipher.nonce !== "string" ||
    typeof e.ciphertext !== "string"
  )
    throw unreadable("salt, nonce or ciphertext missing");
  const salt = Buffer.from(e.kdf.salt, "base64");
  const nonce = Buffer.from(e.cipher.nonce, "base64");
  const sealed = Buffer.from(e.ciphertext, "base64");
  if (nonce.length !== NONCE_BYTES) throw unreadable("the nonce is not 24 bytes");
  if (sealed.length <= 16) throw unreadable("the ciphertext is empty");
  const boxKey = deriveBoxKey(passphrase, salt, { N, r, p });
  try {
    return Buffer.from(xsalsa20poly1305(boxKey, nonce).decrypt(sealed));
  } catch {
    // Authentication failed: with scrypt-derived keys, a wrong passphrase (or a corrupted file).
    throw new KeyError(`wrong passphrase for ${source} (or the file is corrupted)`);
  }
}

function parsePrivateDer(der: Buffer, source: string): KeyObject {
  try {
    return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } catch (err) {
    throw new KeyError(`${source}: the decrypted key is not a PKCS#8 private key`, { cause: err });
  }
}

interface PemBlock {
  type: string;
  body: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** The one PEM block of a key file (headers such as Proc-Type skipped; createPrivateKey reads them). */
function singlePemBlock(pem: string, source: string): PemBlock {
  if (pem.length > MAX_PEM_CHARS) throw new KeyError(`${source} is too large to be a key file`);
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) throw new KeyError(`${source} is not a PEM file (no -----BEGIN …----- block)`);
  if (blocks.length > 1)
    throw new KeyError(`${source} holds ${blocks.length} PEM blocks: give one key or certificate per file`);
  const [, type, text] = blocks[0]!;
  const base64 = text!
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "" && !line.includes(":"))
    .join("");
  return { type: type!, body: Buffer.from(base64, "base64") };
}

/** PEM as Go's encoding/pem writes it: 64-character lines, trailing newline. */
function pemEncode(type: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}
