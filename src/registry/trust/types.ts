import type { TrustedKey } from "../../oci/signatures/index.js";

export type TrustMode = "warn" | "enforce";
export const TRUST_MODES: readonly TrustMode[] = ["warn", "enforce"];

/** A public key administrators trust to sign, as stored (PEM) and as listed. */
export interface TrustKeyRecord {
  name: string;
  /** Hex SHA-256 of the key's SPKI DER. */
  fingerprint: string;
  /** PKIX PEM. */
  publicKey: string;
  /** The certificate the key came from, if it came from one (Notation signatures chain to it). */
  certificate: string | null;
  createdBy: string;
  createdAt: string;
}

/** Artifacts in repositories matching `repositories` must be signed by one of `keys`. */
export interface TrustPolicy {
  name: string;
  /** A repository glob, as in access rules (`**`, `team-a/**`). */
  repositories: string;
  /** Names of trust keys; a signature by any one of them satisfies the policy. */
  keys: string[];
  mode: TrustMode;
  createdBy: string;
  createdAt: string;
}

export interface NewTrustPolicy {
  name: string;
  repositories: string;
  keys: string[];
  mode: string;
}

export class TrustError extends Error {
  constructor(
    readonly kind: "invalid" | "not_found" | "conflict",
    message: string,
  ) {
    super(message);
  }
}

/** The keys in force, parsed once per change (names and fingerprints with their KeyObjects). */
export interface ActiveKeys {
  keys: readonly TrustedKey[];
  byName: ReadonlyMap<string, TrustKeyRecord>;
}
