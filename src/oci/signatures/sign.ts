import { createHash, sign as cryptoSign, type KeyObject } from "node:crypto";
import type { Descriptor } from "../manifest.js";
import { COSIGN_SIGNATURE_ANNOTATION, MAX_SIGNATURES, SIMPLE_SIGNING_MEDIA_TYPE } from "./constants.js";
import { goDescriptor, goJson, goMap } from "./go-json.js";
import type { SigningKey } from "./types.js";

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
/** Go's zero time.Time as go-containerregistry marshals it (cosign writes no creation time by default). */
const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * cosign's simple-signing payload for `digest` in `dockerReference` (host/repo), byte for byte:
 * sigstore/sigstore pkg/signature/payload `Cosign.MarshalJSON` — `critical` {identity, image, type} then
 * `optional`, which holds cosign's `-a key=value` annotations (keys sorted, as Go marshals a map) or is
 * `null` when there are none.
 */
export function simpleSigningPayload(
  dockerReference: string,
  digest: string,
  annotations?: Record<string, string>,
): Buffer {
  if (!DIGEST.test(digest)) throw new Error(`not a digest: ${digest}`);
  if (dockerReference === "" || /[@\s]/.test(dockerReference))
    throw new Error(`not a repository reference (host/repo): ${dockerReference}`);
  return Buffer.from(
    goJson({
      critical: {
        identity: { "docker-reference": dockerReference },
        image: { "docker-manifest-digest": digest },
        type: "cosign container image signature",
      },
      optional: goMap(annotations) ?? null,
    }),
    "utf8",
  );
}

/**
 * Base64 signature of the payload, the value of `dev.cosignproject.cosign/signature`: ECDSA (ASN.1 DER)
 * over SHA-256 as cosign signs with a key file; also RSA PKCS#1 v1.5 / SHA-256 and Ed25519 keys.
 */
export function signPayload(payload: Buffer, key: SigningKey): string {
  return signBytes(payload, key.privateKey).toString("base64");
}

/**
 * The raw signature over `data` with the algorithm cosign uses by default for this key type
 * (sigstore's GetDefaultAlgorithmDetails): ECDSA P-256/SHA-256, P-384/SHA-384, P-521/SHA-512 (ASN.1),
 * RSA PKCS#1 v1.5/SHA-256, Ed25519.
 */
export function signBytes(data: Buffer, privateKey: KeyObject): Buffer {
  if (privateKey.asymmetricKeyType === "ed25519") return cryptoSign(null, data, privateKey);
  return cryptoSign(defaultHash(privateKey), data, { key: privateKey, dsaEncoding: "der" });
}

/** The hash cosign pairs with a key by default. */
export function defaultHash(key: KeyObject): "sha256" | "sha384" | "sha512" {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === "secp384r1") return "sha384";
  if (curve === "secp521r1") return "sha512";
  return "sha256";
}

/** The `.sig` layer for one signed payload (cosign's pkg/oci/static signature layer, no certificate). */
export function legacySignatureLayer(payload: Buffer, signature: string): Descriptor {
  return {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    size: payload.length,
    digest: `sha256:${createHash("sha256").update(payload).digest("hex")}`,
    annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signature },
  };
}

/**
 * The `.sig` manifest (JSON bytes) and its config blob: the layers already there (each a signed payload)
 * followed by the new one, as cosign appends. Built as go-containerregistry's mutate.Append over
 * empty.Image (OCI media types, cosign's default) serialises it: each layer is an uncompressed static
 * layer, so its diff_id is its digest, and each adds an empty history entry; no creation time.
 */
export function legacySignatureManifest(layers: Descriptor[]): { manifest: Buffer; config: Buffer } {
  if (layers.length === 0) throw new Error("a signature image needs at least one signature layer");
  if (layers.length > MAX_SIGNATURES)
    throw new Error(`a .sig image holds at most ${MAX_SIGNATURES} signatures (${layers.length} given)`);
  const config = Buffer.from(
    goJson({
      architecture: "",
      created: GO_ZERO_TIME,
      history: layers.map(() => ({ created: GO_ZERO_TIME })),
      os: "",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
    "utf8",
  );
  const manifest = Buffer.from(
    goJson({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: OCI_CONFIG,
        size: config.length,
        digest: `sha256:${createHash("sha256").update(config).digest("hex")}`,
      },
      layers: layers.map(goDescriptor),
    }),
    "utf8",
  );
  return { manifest, config };
}

export {
  bundleReferrerManifest,
  createSigstoreBundle,
  EMPTY_CONFIG,
  EMPTY_CONFIG_BLOB,
} from "./sign-bundle.js";
