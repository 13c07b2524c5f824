/** A trusted key as GET/POST /api/v1/trust/keys answer it. */
export interface TrustKeyDto {
  name: string;
  /** Hex SHA-256 of the key's SPKI DER. */
  fingerprint: string;
  /** PKIX PEM. */
  publicKey: string;
  certificate: string | null;
  createdBy: string;
  createdAt: string;
}

/** A trust policy as GET/POST /api/v1/trust/policies answer it. */
export interface TrustPolicyDto {
  name: string;
  repositories: string;
  keys: string[];
  mode: "warn" | "enforce";
  createdBy: string;
  createdAt: string;
}
