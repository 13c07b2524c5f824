import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from "node:crypto";
import { bundleFromJSON, bundleToJSON } from "@sigstore/bundle";
import { DSSEBundleBuilder } from "@sigstore/sign";
import { toSignedEntity, toTrustMaterial, Verifier } from "@sigstore/verify";
import type { Descriptor } from "../../src/oci/manifest.js";
import {
  bundleReferrerManifest,
  createSigstoreBundle,
  EMPTY_CONFIG_BLOB,
  generateSigningKey,
  identifySignature,
  keyFingerprint,
  MAX_SIGNATURE_LAYER_BYTES,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  verifySignatureArtifact,
  type SigningKey,
  type TrustedKey,
} from "../../src/oci/signatures/index.js";

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const DIGEST = sha256("the artifact");
const OTHER_DIGEST = sha256("another artifact");
const SUBJECT: Descriptor = {
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  size: 1234,
  digest: DIGEST,
};
const trusted = (name: string, key: SigningKey): TrustedKey => ({ name, key: key.publicKey });
/** What cosign (internal/key, pkg/cosign/bundle) writes as a key's hint. */
const cosignHint = (key: KeyObject) =>
  createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("base64");

/** The bundle as a referrer layer in a store: identify the manifest, then verify through readLayer. */
async function verifyBundle(
  bundle: Buffer,
  expected: string | undefined,
  keys: TrustedKey[],
  subject = SUBJECT,
) {
  const layer: Descriptor = {
    mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
    size: bundle.length,
    digest: sha256(bundle),
  };
  const manifest = bundleReferrerManifest(subject, layer, new Date("2026-01-02T03:04:05.678Z"));
  const artifact = identifySignature(JSON.parse(manifest.toString()));
  assert.ok(artifact, "the referrer manifest is not recognised as a signature");
  let reads = 0;
  const verdicts = await verifySignatureArtifact(
    artifact,
    (l) => {
      reads++;
      return l.digest === layer.digest ? Promise.resolve(bundle) : Promise.reject(new Error("unknown blob"));
    },
    expected,
    keys,
  );
  return { verdicts, reads };
}

/** A statement-carrying bundle made with @sigstore/sign directly (not through Wharf's code). */
async function sigstoreJsBundle(statement: unknown, key: SigningKey, hint: string): Promise<Buffer> {
  const bundle = await new DSSEBundleBuilder({
    signer: {
      sign: (data) =>
        Promise.resolve({
          signature: cryptoSign("sha256", data, key.privateKey),
          key: {
            $case: "publicKey",
            publicKey: key.publicKey.export({ type: "spki", format: "pem" }) as string,
            hint,
          },
        }),
    },
    witnesses: [],
  }).create({ data: Buffer.from(JSON.stringify(statement)), type: "application/vnd.in-toto+json" });
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)));
}

const statementFor = (digest: string, predicateType = "https://sigstore.dev/cosign/sign/v1") => ({
  _type: "https://in-toto.io/Statement/v1",
  subject: [{ name: "registry.example/team/app", digest: { sha256: digest.slice("sha256:".length) } }],
  predicateType,
  predicate: {},
});

describe("Sigstore bundles: what Wharf writes", () => {
  const key = generateSigningKey();

  it("is cosign v3's bundle: v0.3, key hint, DSSE over cosign's in-toto statement, no tlog", async () => {
    const json = JSON.parse((await createSigstoreBundle(DIGEST, key)).toString()) as {
      mediaType: string;
      verificationMaterial: Record<string, unknown>;
      dsseEnvelope: { payload: string; payloadType: string; signatures: Record<string, unknown>[] };
    };
    assert.equal(json.mediaType, "application/vnd.dev.sigstore.bundle.v0.3+json");
    assert.deepEqual(json.verificationMaterial, { publicKey: { hint: cosignHint(key.publicKey) } });
    assert.equal(json.dsseEnvelope.payloadType, "application/vnd.in-toto+json");
    assert.deepEqual(Object.keys(json.dsseEnvelope.signatures[0]!), ["sig"]);
    // The statement as cosign v3 writes it (protojson of intoto v1 Statement: no subject name,
    // annotations {}, empty predicate).
    assert.equal(
      Buffer.from(json.dsseEnvelope.payload, "base64").toString(),
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${DIGEST.slice(7)}"},"annotations":{}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
    );
  });

  it("verifies with @sigstore/verify, called directly, finding the key by cosign's hint", async () => {
    const bundle = bundleFromJSON(JSON.parse((await createSigstoreBundle(DIGEST, key)).toString()));
    const hints: string[] = [];
    const trust = toTrustMaterial(
      {
        mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      },
      (hint) => {
        hints.push(hint);
        if (hint !== cosignHint(key.publicKey)) throw new Error(`unknown key ${hint}`);
        return { publicKey: key.publicKey, validFor: () => true };
      },
    );
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    const signer = verifier.verify(toSignedEntity(bundle));
    assert.equal(keyFingerprint(signer.key), keyFingerprint(key.publicKey));
    assert.deepEqual(hints, [cosignHint(key.publicKey)]);

    // The same check fails for another key under that hint.
    const other = generateSigningKey();
    const wrong = toTrustMaterial(
      {
        mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        tlogs: [],
        certificateAuthorities: [],
        ctlogs: [],
        timestampAuthorities: [],
      },
      () => ({ publicKey: other.publicKey, validFor: () => true }),
    );
    assert.throws(
      () =>
        new Verifier(wrong, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(
          toSignedEntity(bundle),
        ),
      /signature verification failed/,
    );
  });

  it("the referrer manifest is cosign's: empty config, bundle layer, its annotations, subject, artifactType", () => {
    const layer = { mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE, size: 700, digest: sha256("bundle") };
    const manifest = bundleReferrerManifest(SUBJECT, layer, new Date("2026-01-02T03:04:05.678Z"));
    assert.equal(EMPTY_CONFIG_BLOB.toString(), "{}");
    assert.equal(
      manifest.toString(),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"},"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","size":700,"digest":"${layer.digest}"}],"annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1","org.opencontainers.image.created":"2026-01-02T03:04:05Z"},"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1234,"digest":"${DIGEST}"},"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`,
    );
    assert.deepEqual(identifySignature(JSON.parse(manifest.toString())), {
      format: "sigstore-bundle",
      subject: DIGEST,
      layers: [layer],
    });
  });
  it("recognises the referrer @sigstore/oci writes, whichever bundle media type it was given", () => {
    for (const mediaType of [
      SIGSTORE_BUNDLE_MEDIA_TYPE,
      "application/vnd.dev.sigstore.bundle+json;version=0.3",
    ]) {
      const layer = { mediaType, size: 700, digest: sha256("bundle") };
      // @sigstore/oci's buildManifest: artifactType = the layer's media type, empty config, subject.
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: mediaType,
        config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2, digest: sha256("{}") },
        layers: [layer],
        subject: SUBJECT,
        annotations: { "org.opencontainers.image.created": new Date().toISOString() },
      };
      assert.deepEqual(identifySignature(manifest), {
        format: "sigstore-bundle",
        subject: DIGEST,
        layers: [layer],
      });
    }
  });
});

describe("Sigstore bundles: verifying", () => {
  const key = generateSigningKey();
  const other = generateSigningKey();

  it("a Wharf bundle verifies and names its key, with cosign's hint as the key hint", async () => {
    const { verdicts } = await verifyBundle(await createSigstoreBundle(DIGEST, key), DIGEST, [
      trusted("other.pub", other),
      trusted("team.pub", key),
    ]);
    assert.deepEqual(verdicts, [
      {
        format: "sigstore-bundle",
        subject: DIGEST,
        signers: ["team.pub"],
        keyHint: keyFingerprint(key.publicKey),
      },
    ]);
  });

  it("a bundle made with @sigstore/sign directly verifies (any hint: the trusted key decides)", async () => {
    const bundle = await sigstoreJsBundle(statementFor(DIGEST), key, "some-other-hint-scheme");
    const { verdicts } = await verifyBundle(bundle, DIGEST, [trusted("team.pub", key)]);
    assert.deepEqual(verdicts, [{ format: "sigstore-bundle", subject: DIGEST, signers: ["team.pub"] }]);
  });

  it("cosign's default for P-384 keys (ECDSA over SHA-384) verifies too", async () => {
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const { verdicts } = await verifyBundle(await createSigstoreBundle(DIGEST, p384), DIGEST, [
      trusted("p384.pub", p384),
    ]);
    assert.deepEqual(verdicts[0]?.signers, ["p384.pub"]);
  });

  it("a tampered payload fails", async () => {
    const json = JSON.parse((await createSigstoreBundle(DIGEST, key)).toString()) as {
      dsseEnvelope: { payload: string };
    };
    const statement = Buffer.from(json.dsseEnvelope.payload, "base64")
      .toString()
      .replace('annotations":{}', 'annotations":{"x":"y"}');
    json.dsseEnvelope.payload = Buffer.from(statement).toString("base64");
    const { verdicts } = await verifyBundle(Buffer.from(JSON.stringify(json)), DIGEST, [
      trusted("team.pub", key),
    ]);
    assert.deepEqual(verdicts[0]?.signers, []);
    assert.match(verdicts[0]?.problem ?? "", /verifies with none of the trusted keys \(team\.pub\)/);
  });

  it("a bundle signed by another key fails", async () => {
    const { verdicts } = await verifyBundle(await createSigstoreBundle(DIGEST, other), DIGEST, [
      trusted("team.pub", key),
    ]);
    assert.deepEqual(verdicts[0]?.signers, []);
    assert.match(verdicts[0]?.problem ?? "", /signed by another key/);
  });

  it("a valid signature for another digest does not count for this one", async () => {
    const bundle = await createSigstoreBundle(OTHER_DIGEST, key);
    // Attached (by mistake or malice) to this artifact: the statement still names the other digest.
    const { verdicts } = await verifyBundle(bundle, DIGEST, [trusted("team.pub", key)]);
    assert.deepEqual(verdicts[0], {
      format: "sigstore-bundle",
      subject: OTHER_DIGEST,
      signers: [],
      problem: `signed by team.pub but for ${OTHER_DIGEST}, not for ${DIGEST}`,
      keyHint: keyFingerprint(key.publicKey),
    });
  });

  it("an attestation (another predicate type) signed by a trusted key is not a signature", async () => {
    const bundle = await sigstoreJsBundle(statementFor(DIGEST, "https://spdx.dev/Document"), key, "");
    const { verdicts } = await verifyBundle(bundle, DIGEST, [trusted("team.pub", key)]);
    assert.deepEqual(verdicts[0]?.signers, []);
    assert.match(
      verdicts[0]?.problem ?? "",
      /an attestation \(predicate type "https:\/\/spdx\.dev\/Document"\) signed by team\.pub, not a signature/,
    );
  });

  it("never throws on junk: not JSON, not a bundle, oversized (never read)", async () => {
    for (const [body, problem] of [
      [Buffer.from("nope"), /not JSON/],
      [
        Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}'),
        /not a valid Sigstore bundle/,
      ],
      [Buffer.from("[1,2]"), /not a valid Sigstore bundle/],
    ] as const) {
      const { verdicts } = await verifyBundle(body, DIGEST, [trusted("team.pub", key)]);
      assert.deepEqual(verdicts[0]?.signers, []);
      assert.match(verdicts[0]?.problem ?? "", problem);
    }
    const big: Descriptor = {
      mediaType: SIGSTORE_BUNDLE_MEDIA_TYPE,
      size: MAX_SIGNATURE_LAYER_BYTES + 1,
      digest: sha256("big"),
    };
    const artifact = identifySignature(
      JSON.parse(bundleReferrerManifest(SUBJECT, big, new Date()).toString()),
    );
    assert.ok(artifact);
    let reads = 0;
    const [verdict] = await verifySignatureArtifact(
      artifact,
      () => (reads++, Promise.resolve(Buffer.alloc(0))),
      DIGEST,
      [trusted("team.pub", key)],
    );
    assert.equal(reads, 0);
    assert.match(verdict?.problem ?? "", /larger than 1 MiB: not read/);
  });
});
