import { X509Certificate } from "node:crypto";
import { flattenedVerify } from "jose";
import type { Descriptor } from "../manifest.js";
import { NOTATION_JWS_MEDIA_TYPE } from "./constants.js";
import { NOTATION_COSE_MEDIA_TYPE } from "./identify.js";
import { asObject, parseJson, readSignatureLayer } from "./read-layer.js";
import type { SignatureVerdict, TrustedKey } from "./types.js";

const NOTATION_PAYLOAD = "application/vnd.cncf.notary.payload.v1+json";
const SIGNING_SCHEME = "io.cncf.notary.signingScheme";
const SIGNING_TIME = "io.cncf.notary.signingTime";
const EXPIRY = "io.cncf.notary.expiry";
/** The algorithms Notation signs with (notaryproject specs, signature-envelope-jws.md). */
const ALGORITHMS = ["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];
/** Critical headers Wharf understands; a signature that needs any other must not verify. */
const UNDERSTOOD = new Set([SIGNING_SCHEME, SIGNING_TIME, EXPIRY]);
const MAX_CHAIN = 10;
const CODE_SIGNING_EKU = "1.3.6.1.5.5.7.3.3";

/**
 * Notation (Notary Project) signatures in JWS envelopes (application/jose+json): the `notary.x509`
 * scheme, the protected header's critical parameters and expiry, the x5c chain (leaf first) each issued
 * by the next and valid now, the signature by the leaf's key (jose), the payload's targetArtifact digest,
 * and the chain anchored at a trusted certificate (in the chain, or its issuer). No timestamp or
 * revocation checks (offline).
 */
export async function verifyEnvelope(
  layer: Descriptor,
  readLayer: (layer: Descriptor) => Promise<Buffer>,
  expected: string | undefined,
  keys: readonly TrustedKey[],
  now = new Date(),
): Promise<SignatureVerdict> {
  const verdict = (subject: string, problem?: string, signers: string[] = []): SignatureVerdict => ({
    format: "notation",
    subject,
    signers,
    ...(problem === undefined ? {} : { problem }),
  });
  const unknown = expected ?? "";
  if (layer.mediaType === NOTATION_COSE_MEDIA_TYPE)
    return verdict(unknown, "COSE envelopes are not supported: sign with notation --signature-format jws");
  if (layer.mediaType !== NOTATION_JWS_MEDIA_TYPE)
    return verdict(unknown, `layer ${layer.digest} is not a Notation JWS envelope (${layer.mediaType})`);
  const read = await readSignatureLayer(layer, readLayer);
  if ("problem" in read) return verdict(unknown, read.problem);

  const jws = asObject(parseJson(read.bytes));
  const header = asObject(jws?.header);
  if (
    !jws ||
    typeof jws.payload !== "string" ||
    typeof jws.protected !== "string" ||
    typeof jws.signature !== "string" ||
    !header
  )
    return verdict(unknown, "the envelope is not a flattened JWS (payload, protected, header, signature)");
  const protectedHeader = asObject(parseJson(Buffer.from(jws.protected, "base64url")));
  if (!protectedHeader) return verdict(unknown, "the JWS protected header is not JSON");
  const headerProblem = checkProtectedHeader(protectedHeader, now);
  if (headerProblem) return verdict(unknown, headerProblem);

  const payload = asObject(asObject(parseJson(Buffer.from(jws.payload, "base64url")))?.targetArtifact);
  const signed = payload?.digest;
  if (typeof signed !== "string" || signed === "")
    return verdict(unknown, "the Notation payload names no targetArtifact digest");

  const chain = parseChain(header.x5c);
  if (typeof chain === "string") return verdict(signed, chain);
  const chainProblem = checkChain(chain, now);
  if (chainProblem) return verdict(signed, chainProblem);

  try {
    await flattenedVerify(
      { payload: jws.payload, protected: jws.protected, header, signature: jws.signature },
      chain[0]!.publicKey,
      {
        algorithms: ALGORITHMS,
        crit: { [SIGNING_SCHEME]: true, [SIGNING_TIME]: false, [EXPIRY]: false },
      },
    );
  } catch (err) {
    return verdict(
      signed,
      `the signature does not verify with the signing certificate's key (the payload was changed, or the envelope is corrupt): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (expected !== undefined && signed !== expected)
    return verdict(
      signed,
      `signed by ${chain[0]!.subject.replace(/\n/g, ", ")} but for ${signed}, not for ${expected}`,
    );
  const signers = keys.filter((k) => k.certificate && anchors(chain, k.certificate)).map((k) => k.name);
  if (signers.length === 0) {
    const stores = keys.filter((k) => k.certificate).map((k) => k.name);
    return verdict(
      signed,
      stores.length === 0
        ? "no trust-store certificate to check the Notation signature's chain against"
        : `the signing certificate (${chain[0]!.subject.replace(/\n/g, ", ")}) does not chain to any trusted certificate (${stores.join(", ")})`,
    );
  }
  const expiresAt = earliestExpiry(protectedHeader, chain);
  return { ...verdict(signed, undefined, signers), ...(expiresAt === undefined ? {} : { expiresAt }) };
}

/** When the verified signature stops counting: its expiry, or the first of its certificates to expire. */
function earliestExpiry(h: Record<string, unknown>, chain: X509Certificate[]): string | undefined {
  const times = chain.map((c) => Date.parse(c.validTo));
  if (typeof h[EXPIRY] === "string") times.push(Date.parse(h[EXPIRY]));
  const known = times.filter((t) => Number.isFinite(t));
  return known.length === 0 ? undefined : new Date(Math.min(...known)).toISOString();
}

/** The protected header as Notation's `notary.x509` scheme defines it; undefined when acceptable. */
function checkProtectedHeader(h: Record<string, unknown>, now: Date): string | undefined {
  if (typeof h.alg !== "string" || !ALGORITHMS.includes(h.alg))
    return `the signature algorithm ${JSON.stringify(h.alg)} is not one Notation uses (${ALGORITHMS.join(", ")})`;
  if (h.cty !== NOTATION_PAYLOAD)
    return `the payload content type is ${JSON.stringify(h.cty)}, not ${NOTATION_PAYLOAD}`;
  if (h[SIGNING_SCHEME] !== "notary.x509")
    return `the signing scheme ${JSON.stringify(h[SIGNING_SCHEME])} is not supported (only notary.x509)`;
  const crit = h.crit;
  if (!Array.isArray(crit) || !crit.includes(SIGNING_SCHEME))
    return `the protected header does not mark ${SIGNING_SCHEME} as critical`;
  const unknown = crit.filter((c) => typeof c !== "string" || !UNDERSTOOD.has(c));
  if (unknown.length > 0)
    return `the signature requires understanding ${unknown.map((c) => JSON.stringify(c)).join(", ")}, which Wharf does not`;
  if (typeof h[SIGNING_TIME] !== "string" || Number.isNaN(Date.parse(h[SIGNING_TIME])))
    return "the protected header has no valid signing time";
  if (h[EXPIRY] !== undefined) {
    if (typeof h[EXPIRY] !== "string" || Number.isNaN(Date.parse(h[EXPIRY])))
      return "the protected header's expiry is not a time";
    if (Date.parse(h[EXPIRY]) <= now.getTime()) return `the signature expired at ${h[EXPIRY]}`;
  }
  return undefined;
}

/** The x5c certificates (standard base64 DER, leaf first), or why they are unusable. */
function parseChain(value: unknown): X509Certificate[] | string {
  if (!Array.isArray(value) || value.length === 0) return "the envelope carries no certificate chain (x5c)";
  if (value.length > MAX_CHAIN) return `the certificate chain is longer than ${MAX_CHAIN}`;
  const chain: X509Certificate[] = [];
  for (const item of value) {
    if (typeof item !== "string") return "the certificate chain holds something that is not a certificate";
    try {
      chain.push(new X509Certificate(Buffer.from(item, "base64")));
    } catch {
      return "the certificate chain holds something that is not a certificate";
    }
  }
  return chain;
}

/** Each certificate valid now and issued (and signed) by the next; the leaf fit for code signing. */
function checkChain(chain: X509Certificate[], now: Date): string | undefined {
  for (const [i, cert] of chain.entries()) {
    const name = cert.subject.replace(/\n/g, ", ");
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo))
      return `certificate ${name} is not valid now (valid ${cert.validFrom} to ${cert.validTo})`;
    const issuer = chain[i + 1];
    if (issuer) {
      if (!issuer.ca) return `certificate ${issuer.subject.replace(/\n/g, ", ")} in the chain is not a CA`;
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey))
        return `certificate ${name} is not issued by the next one in the chain`;
    }
  }
  const eku = chain[0]!.keyUsage;
  if (eku && eku.length > 0 && !eku.includes(CODE_SIGNING_EKU))
    return "the signing certificate is not for code signing (extended key usage)";
  return undefined;
}

/** The trusted certificate is in the chain, or issued its last certificate. */
function anchors(chain: X509Certificate[], trusted: X509Certificate): boolean {
  if (chain.some((c) => c.fingerprint256 === trusted.fingerprint256)) return true;
  const top = chain[chain.length - 1]!;
  return trusted.ca && top.checkIssued(trusted) && top.verify(trusted.publicKey);
}
