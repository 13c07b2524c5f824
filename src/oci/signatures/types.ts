import type { KeyObject, X509Certificate } from "node:crypto";
import type { Descriptor } from "../manifest.js";

/** How a signature is stored in a registry. */
export type SignatureFormat =
  /** cosign v3's default: a Sigstore bundle v0.3 (DSSE over an in-toto statement) as an OCI 1.1 referrer. */
  | "sigstore-bundle"
  /** cosign's original format: simple-signing payloads as layers of the `sha256-<hex>.sig` tag. */
  | "cosign-legacy"
  /** Notary Project (Notation) JWS envelope as a referrer (`application/vnd.cncf.notary.signature`). */
  | "notation";

/** A public key trusted to sign, under the name people know it by. */
export interface TrustedKey {
  name: string;
  key: KeyObject;
  /** Set when the key came from a certificate: Notation signatures chain to it. */
  certificate?: X509Certificate;
}

/** A private key with its public half, ready to sign. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A manifest recognised as holding signatures, and what must be read to check them. */
export interface SignatureArtifact {
  format: SignatureFormat;
  /** The digest of the manifest it claims to sign (its subject, or the digest in its `.sig` tag); empty
   * for a `.sig` image seen without its tag (the payloads say). */
  subject: string;
  /** The layers holding the signed payloads (each at most MAX_SIGNATURE_LAYER_BYTES). */
  layers: Descriptor[];
}

/** The outcome of checking one signature (a `.sig` tag holds one per layer). */
export interface SignatureVerdict {
  format: SignatureFormat;
  /** The digest the signature covers, as its payload states it. */
  subject: string;
  /** Names of the trusted keys whose signature verifies over this exact payload, for this subject. */
  signers: string[];
  /** Why no key verified it, when signers is empty (tampered payload, unknown key, other digest…). */
  problem?: string;
  /** Fingerprint (hex SHA-256 of the SPKI DER) of the key the signature names, when it names one. */
  keyHint?: string;
  /** When a verified signature stops counting (Notation's expiry, its certificates' notAfter), if ever. */
  expiresAt?: string;
}
