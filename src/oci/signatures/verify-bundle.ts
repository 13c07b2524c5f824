import type { KeyObject } from "node:crypto";
import { bundleFromJSON, type Bundle } from "@sigstore/bundle";
import { toSignedEntity, toTrustMaterial, Verifier, type SignedEntity } from "@sigstore/verify";
import type { Descriptor } from "../manifest.js";
import { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, MAX_SIGNATURES } from "./constants.js";
import { asObject, parseJson, readSignatureLayer } from "./read-layer.js";
import { IN_TOTO_STATEMENT_V1 } from "./sign-bundle.js";
import { verifiesWith } from "./verify-legacy.js";
import { keyFingerprint } from "./keys.js";
import type { SignatureVerdict, TrustedKey } from "./types.js";

/** A trusted root with nothing in it: key-signed bundles are checked against our keys alone. */
const NO_ROOT: Parameters<typeof toTrustMaterial>[0] = {
  mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};
/** Offline: no transparency-log entry, certificate-transparency proof or timestamp is required. */
const OFFLINE = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
const IN_TOTO_STATEMENT_V01 = "https://in-toto.io/Statement/v0.1";

/**
 * Sigstore bundles as cosign v3 writes them: @sigstore/verify checks the DSSE signature with the trusted
 * key the bundle's hint names (the hint only names a key, trusting it is ours to decide; with no hint we
 * recognise, with each trusted key), then
 * the in-toto statement must be cosign's signature predicate with the expected digest among its subjects.
 * Transparency-log entries and timestamps in the bundle are not checked (that needs Rekor's and the
 * TSA's keys, and the network); the trusted key alone decides.
 */
export async function verifyBundleLayer(
  layer: Descriptor,
  readLayer: (layer: Descriptor) => Promise<Buffer>,
  expected: string | undefined,
  keys: readonly TrustedKey[],
): Promise<SignatureVerdict> {
  let keyHint: string | undefined;
  const verdict = (subject: string, problem?: string, signers: string[] = []): SignatureVerdict => ({
    format: "sigstore-bundle",
    subject,
    signers,
    ...(problem === undefined ? {} : { problem }),
    ...(keyHint === undefined ? {} : { keyHint }),
  });
  const unknown = expected ?? "";
  const read = await readSignatureLayer(layer, readLayer);
  if ("problem" in read) return verdict(unknown, read.problem);
  const json = parseJson(read.bytes);
  if (json === undefined) return verdict(unknown, "the Sigstore bundle is not JSON");
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (err) {
    return verdict(
      unknown,
      `not a valid Sigstore bundle: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const material = bundle.verificationMaterial.content;
  if (material.$case === "publicKey") keyHint = hintToFingerprint(material.publicKey.hint);
  else
    return verdict(
      unknown,
      "the bundle is signed with a certificate (keyless signing), not a key: keyless bundles are not verified",
    );
  if (bundle.content.$case !== "dsseEnvelope")
    return verdict(unknown, "the bundle holds a bare message signature, not a DSSE-signed in-toto statement");
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return verdict(
      unknown,
      `the DSSE payload type is ${JSON.stringify(envelope.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`,
    );

  const statement = asObject(parseJson(Buffer.from(envelope.payload)));
  if (!statement || (statement._type !== IN_TOTO_STATEMENT_V1 && statement._type !== IN_TOTO_STATEMENT_V01))
    return verdict(unknown, "the signed payload is not an in-toto statement");
  const subjects = subjectDigests(statement.subject);
  if (subjects.length === 0) return verdict(unknown, "the in-toto statement names no subject digest");
  const subject = expected !== undefined && subjects.includes(expected) ? expected : subjects[0]!;

  let entity: SignedEntity;
  try {
    // Transparency evidence dropped: it cannot be checked offline and must not make a good key fail.
    entity = { ...toSignedEntity(bundle), tlogEntries: [], timestamps: [] };
  } catch (err) {
    return verdict(
      subject,
      `not a valid Sigstore bundle: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const pae = dssePae(envelope.payloadType, Buffer.from(envelope.payload));
  // The hint names the key (cosign's: its fingerprint): only that one is tried, so a bundle costs one
  // verification however many keys are trusted. A hint in another scheme names nothing: every key.
  const candidates = keyHint === undefined ? keys : keys.filter((k) => fingerprintOf(k.key) === keyHint);
  if (candidates.length === 0 && keys.length > 0)
    return verdict(
      subject,
      `signed by another key: the bundle names the key with fingerprint ${keyHint}, which is not trusted`,
    );
  const signers = candidates.filter((k) => verifiesBundle(entity, pae, k)).map((k) => k.name);
  if (signers.length === 0)
    return verdict(
      subject,
      keys.length === 0
        ? "no trusted key to check the signature with"
        : `the signature verifies with none of the trusted keys (${candidates.map((k) => k.name).join(", ")}): signed by another key, or the payload was changed`,
    );
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE_TYPE)
    return verdict(
      subject,
      `an attestation (predicate type ${JSON.stringify(statement.predicateType)}) signed by ${signers.join(", ")}, not a signature (${COSIGN_SIGN_PREDICATE_TYPE})`,
    );
  if (expected !== undefined && !subjects.includes(expected))
    return verdict(
      subject,
      `signed by ${signers.join(", ")} but for ${subjects.join(", ")}, not for ${expected}`,
    );
  return verdict(subject, undefined, signers);
}

/** @sigstore/verify's Verifier with this key as the only one it knows. */
function verifiesBundle(entity: SignedEntity, pae: Buffer, key: TrustedKey): boolean {
  const trust = toTrustMaterial(NO_ROOT, () => ({ publicKey: key.key, validFor: () => true }));
  try {
    new Verifier(trust, OFFLINE).verify(entity);
    return true;
  } catch {
    // @sigstore/verify hashes ECDSA with SHA-256 whatever the curve; cosign signs P-384/P-521 with
    // SHA-384/512 by default: the same DSSE bytes, checked with the curve's own hash.
    return key.key.asymmetricKeyType === "ec" && verifiesWith(key.key, pae, entity.signature.signature);
  }
}

const fingerprints = new WeakMap<KeyObject, string>();

/** keyFingerprint, once per key object (the same trusted keys check every bundle). */
function fingerprintOf(key: KeyObject): string {
  let fingerprint = fingerprints.get(key);
  if (fingerprint === undefined) {
    fingerprint = keyFingerprint(key);
    fingerprints.set(key, fingerprint);
  }
  return fingerprint;
}

/** DSSE's pre-authentication encoding: what the signature covers. */
function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** The statement's subjects as OCI digests (`sha256:<hex>`), bounded. */
function subjectDigests(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const digests: string[] = [];
  for (const item of value.slice(0, MAX_SIGNATURES)) {
    const digest = asObject(asObject(item)?.digest);
    if (!digest) continue;
    for (const [algorithm, hex] of Object.entries(digest))
      if (typeof hex === "string" && /^[a-z0-9]+$/.test(algorithm) && /^[a-f0-9]+$/.test(hex))
        digests.push(`${algorithm}:${hex}`);
  }
  return digests;
}

/**
 * The fingerprint (hex SHA-256 of the SPKI DER) a bundle's key hint stands for: cosign's hint is that
 * hash in base64 (a hex hint is taken as it is). Any other hint names no key we can recognise.
 */
function hintToFingerprint(hint: string): string | undefined {
  if (/^[a-f0-9]{64}$/.test(hint)) return hint;
  const bytes = Buffer.from(hint, "base64");
  if (bytes.length === 32 && bytes.toString("base64") === hint) return bytes.toString("hex");
  return undefined;
}
