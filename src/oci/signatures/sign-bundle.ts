import { createHash } from "node:crypto";
import { bundleToJSON } from "@sigstore/bundle";
import { DSSEBundleBuilder, type Signer } from "@sigstore/sign";
import type { Descriptor } from "../manifest.js";
import { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, SIGSTORE_BUNDLE_MEDIA_TYPE } from "./constants.js";
import { goDescriptor, goJson, goMap } from "./go-json.js";
import { publicKeyPem } from "./keys.js";
import { signBytes } from "./sign.js";
import type { SigningKey } from "./types.js";

export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
/** The OCI empty JSON blob (`{}`): the config of a bundle referrer, to be pushed with it. */
export const EMPTY_CONFIG_BLOB = Buffer.from("{}");
/** Its descriptor as cosign writes it: empty media type, the bundle media type as its artifactType. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: "application/vnd.oci.empty.v1+json",
  size: EMPTY_CONFIG_BLOB.length,
  digest: `sha256:${createHash("sha256").update(EMPTY_CONFIG_BLOB).digest("hex")}`,
  artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
};
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/**
 * The key hint cosign writes for a key (cosign internal/key NewSignerVerifierKeypair and
 * pkg/cosign/bundle MakeNewBundle): standard base64 of SHA-256 over the key's PKIX DER.
 */
export function bundleKeyHint(key: SigningKey): string {
  return createHash("sha256")
    .update(key.publicKey.export({ type: "spki", format: "der" }))
    .digest("base64");
}

/**
 * A Sigstore bundle v0.3 (JSON bytes) as cosign v3 writes for `cosign sign --key`: a DSSE envelope over an
 * in-toto statement whose subject is `digest`, predicate type COSIGN_SIGN_PREDICATE_TYPE, the key named by
 * its hint, no transparency-log entry (offline).
 *
 * The statement is cosign's (cmd/cosign/cli/sign: intoto v1 Statement, one subject with the digest and
 * `annotations` — cosign's `-a` values, `{}` without — and an empty predicate). cosign writes no subject
 * name; `subjectName` is added as the in-toto `name` only when given (verifiers match on the digest).
 */
export async function createSigstoreBundle(
  digest: string,
  key: SigningKey,
  subjectName?: string,
  options: { annotations?: Record<string, string> } = {},
): Promise<Buffer> {
  const separator = digest.indexOf(":");
  if (separator <= 0 || !/^[a-f0-9]+$/.test(digest.slice(separator + 1)))
    throw new Error(`not a digest: ${digest}`);
  const statement = {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [
      {
        ...(subjectName ? { name: subjectName } : {}),
        digest: { [digest.slice(0, separator)]: digest.slice(separator + 1) },
        annotations: goMap(options.annotations) ?? {},
      },
    ],
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    predicate: {},
  };
  const hint = bundleKeyHint(key);
  const signer: Signer = {
    sign: (data) =>
      Promise.resolve({
        signature: signBytes(data, key.privateKey),
        key: { $case: "publicKey", publicKey: publicKeyPem(key.publicKey), hint },
      }),
  };
  // No witnesses: no Rekor entry, no timestamp authority — offline, the key alone vouches.
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({
    data: Buffer.from(goJson(statement), "utf8"),
    type: IN_TOTO_PAYLOAD_TYPE,
  });
  // cosign leaves the DSSE signature's keyid empty (the hint is in the verification material).
  if (bundle.content.$case === "dsseEnvelope")
    for (const signature of bundle.content.dsseEnvelope.signatures) signature.keyid = "";
  const json = bundleToJSON(bundle);
  // Nor does it write an empty timestampVerificationData (protojson omits unset messages).
  if ((json.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).length === 0)
    delete json.verificationMaterial.timestampVerificationData;
  return Buffer.from(JSON.stringify(json), "utf8");
}

/**
 * The referrer manifest (JSON bytes) cosign v3 pushes for a bundle: empty config, the bundle as its layer
 * (cosign pkg/oci/remote WriteAttestationNewBundleFormat → WriteReferrer, go-containerregistry's
 * Manifest plus artifactType, as Go marshals it). Its config blob is EMPTY_CONFIG_BLOB.
 */
export function bundleReferrerManifest(subject: Descriptor, bundle: Descriptor, created: Date): Buffer {
  return Buffer.from(
    goJson({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: goDescriptor(EMPTY_CONFIG),
      layers: [
        goDescriptor({ mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, size: bundle.size, digest: bundle.digest }),
      ],
      annotations: goMap({
        "org.opencontainers.image.created": created.toISOString().replace(/\.\d{3}Z$/, "Z"),
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": COSIGN_SIGN_PREDICATE_TYPE,
      }),
      subject: goDescriptor({ mediaType: subject.mediaType, size: subject.size, digest: subject.digest }),
      artifactType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    }),
    "utf8",
  );
}
