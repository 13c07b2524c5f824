/**
 * A signature accessory's verification status, as the discovery API shows it: read from what the trust
 * module recorded when the signature was pushed (or re-checked when a key was added), never re-verified
 * per request.
 */
import type { SignatureRecord } from "../metadata/signatures.js";
import type { VerificationView } from "./discovery-views.js";

/** The kinds whose artifacts are signatures (src/oci/kinds/catalogue/supply-chain.ts). */
export const SIGNATURE_KINDS: ReadonlySet<string> = new Set([
  "cosign-signature",
  "sigstore-bundle",
  "notation-signature",
]);

/**
 * The status of one signature manifest over `subject`, from its records (every signature it holds, with
 * the keys that verified each): "verified" by a key trusted now; "failed" when its record shows it cannot
 * count (its payload signs another digest, or a trusted key's verification has expired); else
 * "unverified" (no trusted key verified it, or it is not checked yet).
 */
export function verificationOf(
  records: readonly SignatureRecord[],
  subject: string,
  hasKeys: boolean,
  at: string,
): VerificationView {
  const over = records.filter((r) => r.subject === subject);
  const trusted = over.filter((r) => r.keyName !== null && r.trusted);
  const current = trusted.find((r) => r.expiresAt === null || r.expiresAt > at);
  if (current) {
    return { status: "verified", key: current.keyName, fingerprint: current.fingerprint, reason: null };
  }
  const expired = trusted[0];
  if (expired) {
    return {
      status: "failed",
      key: expired.keyName,
      fingerprint: expired.fingerprint,
      reason: `the signature expired at ${expired.expiresAt}`,
    };
  }
  if (records.length === 0) {
    return { status: "unverified", key: null, fingerprint: null, reason: "not checked yet" };
  }
  const other = records.find((r) => r.subject !== subject && r.subject !== "");
  if (over.length === 0 && other) {
    return {
      status: "failed",
      key: null,
      fingerprint: null,
      reason: `its payload signs ${other.subject}, not this artifact`,
    };
  }
  return {
    status: "unverified",
    key: null,
    fingerprint: null,
    reason: hasKeys ? "no trusted key verified it" : "no trusted keys are registered",
  };
}
