import { createHash, type Hash } from "node:crypto";

/** Digest algorithms we accept, with the hex length the spec fixes for each. */
const ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof ALGORITHMS;

const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export class InvalidDigestError extends Error {}

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
  /** The canonical `algorithm:hex` string. */
  digest: string;
}

/** Parses and validates a digest string; throws InvalidDigestError with a reason. */
export function parseDigest(value: string): ParsedDigest {
  if (!DIGEST_GRAMMAR.test(value)) throw new InvalidDigestError(`malformed digest: ${truncate(value)}`);
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm))
    throw new InvalidDigestError(`unsupported digest algorithm: ${algorithm}`);
  if (hex.length !== ALGORITHMS[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new InvalidDigestError(
      `invalid ${algorithm} digest: expected ${ALGORITHMS[algorithm]} lowercase hex characters`,
    );
  }
  return { algorithm, hex, digest: value };
}

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return Object.hasOwn(ALGORITHMS, value);
}

export function isValidDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = "sha256"): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest("hex")}`;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}
