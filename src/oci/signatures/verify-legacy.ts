import { verify as cryptoVerify, type KeyObject } from "node:crypto";
import type { Descriptor } from "../manifest.js";
import { COSIGN_SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE } from "./constants.js";
import { asObject, parseJson, readSignatureLayer } from "./read-layer.js";
import { defaultHash } from "./sign.js";
import type { SignatureVerdict, TrustedKey } from "./types.js";

const COSIGN_PAYLOAD_TYPE = "cosign container image signature";

/**
 * cosign's `.sig` images: each layer a simple-signing payload, its signature in an annotation. As
 * `cosign verify --key` does: the signature over the exact payload bytes, then the payload's type and
 * docker-manifest-digest (the docker-reference is not checked: images are copied between registries).
 */
export async function verifyLegacyLayer(
  layer: Descriptor,
  readLayer: (layer: Descriptor) => Promise<Buffer>,
  expected: string | undefined,
  keys: readonly TrustedKey[],
): Promise<SignatureVerdict> {
  const verdict = (subject: string, problem?: string, signers: string[] = []): SignatureVerdict => ({
    format: "cosign-legacy",
    subject,
    signers,
    ...(problem === undefined ? {} : { problem }),
  });
  const unknown = expected ?? "";
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE)
    return verdict(
      unknown,
      `layer ${layer.digest} is not a cosign simple-signing payload (${layer.mediaType})`,
    );
  const signatureText = layer.annotations?.[COSIGN_SIGNATURE_ANNOTATION];
  if (typeof signatureText !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(signatureText))
    return verdict(unknown, `layer ${layer.digest} has no base64 ${COSIGN_SIGNATURE_ANNOTATION} annotation`);
  const read = await readSignatureLayer(layer, readLayer);
  if ("problem" in read) return verdict(unknown, read.problem);

  const payload = asObject(parseJson(read.bytes));
  const critical = asObject(payload?.critical);
  if (!critical) return verdict(unknown, "the signed payload is not a cosign simple-signing JSON document");
  if (critical.type !== COSIGN_PAYLOAD_TYPE)
    return verdict(
      unknown,
      `the signed payload's type is ${JSON.stringify(critical.type)}, not "${COSIGN_PAYLOAD_TYPE}"`,
    );
  const signed = asObject(critical.image)?.["docker-manifest-digest"];
  if (typeof signed !== "string" || signed === "")
    return verdict(unknown, "the signed payload names no docker-manifest-digest");

  const signature = Buffer.from(signatureText, "base64");
  const signers = keys.filter((k) => verifiesWith(k.key, read.bytes, signature)).map((k) => k.name);
  if (signers.length === 0) {
    return verdict(
      signed,
      keys.length === 0
        ? "no trusted key to check the signature with"
        : `the signature verifies with none of the trusted keys (${keys.map((k) => k.name).join(", ")}): signed by another key, or the payload was changed`,
    );
  }
  if (expected !== undefined && signed !== expected)
    return verdict(signed, `signed by ${signers.join(", ")} but for ${signed}, not for ${expected}`);
  return verdict(signed, undefined, signers);
}

/**
 * cosign's verifiers for a key file: ECDSA (ASN.1) over SHA-256 — what cosign used for every curve — or
 * the curve's own hash (what it uses by default now for P-384 and P-521), RSA PKCS#1 v1.5 with SHA-256,
 * Ed25519 over the message itself.
 */
export function verifiesWith(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    if (key.asymmetricKeyType === "ed25519") return cryptoVerify(null, data, key, signature);
    const hashes = new Set(["sha256", defaultHash(key)]);
    for (const hash of hashes)
      if (cryptoVerify(hash, data, { key, dsaEncoding: "der" }, signature)) return true;
    return false;
  } catch {
    return false;
  }
}
