import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Descriptor } from "../../src/oci/manifest.js";
import {
  COSIGN_SIGNATURE_ANNOTATION,
  generateSigningKey,
  identifySignature,
  legacySignatureLayer,
  legacySignatureManifest,
  legacySignatureTag,
  MAX_SIGNATURE_LAYER_BYTES,
  parseTrustedKey,
  signPayload,
  simpleSigningPayload,
  verifySignatureArtifact,
  type SignatureArtifact,
  type SigningKey,
  type TrustedKey,
} from "../../src/oci/signatures/index.js";

const fixtures = resolve(import.meta.dirname, "..", "fixtures", "signatures");
const real = JSON.parse(readFileSync(join(fixtures, "cosign-legacy-signature.json"), "utf8")) as {
  dockerReference: string;
  digest: string;
  payload: string;
  signature: string;
  publicKey: string;
  otherPublicKey: string;
};
const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const DIGEST = sha256("the artifact");
const OTHER_DIGEST = sha256("another artifact");

/** A blob store for readLayer, counting reads. */
function blobs(...contents: Buffer[]) {
  const byDigest = new Map(contents.map((c) => [sha256(c), c]));
  const reads: string[] = [];
  return {
    reads,
    read: (layer: Descriptor) => {
      reads.push(layer.digest);
      const found = byDigest.get(layer.digest);
      return found ? Promise.resolve(found) : Promise.reject(new Error(`blob unknown ${layer.digest}`));
    },
  };
}

function legacyArtifact(layers: Descriptor[], digest: string): SignatureArtifact {
  const { manifest } = legacySignatureManifest(layers);
  const artifact = identifySignature(JSON.parse(manifest.toString()), legacySignatureTag(digest));
  assert.ok(artifact);
  return artifact;
}

function signed(key: SigningKey, digest = DIGEST, reference = "registry.example/team/app") {
  const payload = simpleSigningPayload(reference, digest);
  return { payload, layer: legacySignatureLayer(payload, signPayload(payload, key)) };
}

const trusted = (name: string, key: SigningKey): TrustedKey => ({ name, key: key.publicKey });

describe("cosign legacy format: bytes as cosign writes them", () => {
  it("the simple-signing payload equals a real cosign payload byte for byte, and its real signature verifies", async () => {
    const payload = simpleSigningPayload(real.dockerReference, real.digest);
    assert.equal(payload.toString("utf8"), real.payload);
    const layer = legacySignatureLayer(payload, real.signature);
    const verdicts = await verifySignatureArtifact(
      legacyArtifact([layer], real.digest),
      blobs(payload).read,
      real.digest,
      [parseTrustedKey("cosign.pub", real.publicKey)],
    );
    assert.deepEqual(verdicts, [{ format: "cosign-legacy", subject: real.digest, signers: ["cosign.pub"] }]);
  });

  it("puts cosign's -a annotations in optional, keys sorted as Go marshals a map", () => {
    // As `cosign verify` printed it for fluent/fluent-bit:2.0.6 (fluent-bit's README).
    const payload = simpleSigningPayload(
      "index.docker.io/fluent/fluent-bit",
      "sha256:c740f90b07f42823d4ecf4d5e168f32ffb4b8bcd87bc41df8f5e3d14e8272903",
      { workflow: "Release from staging", repo: "fluent/fluent-bit", release: "2.0.6" },
    );
    assert.equal(
      payload.toString(),
      '{"critical":{"identity":{"docker-reference":"index.docker.io/fluent/fluent-bit"},"image":{"docker-manifest-digest":"sha256:c740f90b07f42823d4ecf4d5e168f32ffb4b8bcd87bc41df8f5e3d14e8272903"},"type":"cosign container image signature"},"optional":{"release":"2.0.6","repo":"fluent/fluent-bit","workflow":"Release from staging"}}',
    );
    // Go's encoding/json escapes <, > and & in strings.
    assert.match(
      simpleSigningPayload("r.example/a", DIGEST, { note: "a<b&c>d" }).toString(),
      /"note":"a\\u003cb\\u0026c\\u003ed"/,
    );
  });

  it("the .sig manifest and config are what go-containerregistry writes for cosign", () => {
    const payload = Buffer.from(real.payload);
    const layer = legacySignatureLayer(payload, real.signature);
    const { manifest, config } = legacySignatureManifest([layer]);
    const payloadDigest = sha256(payload);
    assert.equal(
      config.toString(),
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${payloadDigest}"]},"config":{}}`,
    );
    assert.equal(
      manifest.toString(),
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${config.length},"digest":"${sha256(config)}"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":${payload.length},"digest":"${payloadDigest}","annotations":{"dev.cosignproject.cosign/signature":"${real.signature}"}}]}`,
    );
  });

  it("appends a new signature after the ones already there", () => {
    const a = signed(generateSigningKey()).layer;
    const b = signed(generateSigningKey(), OTHER_DIGEST).layer;
    const { manifest, config } = legacySignatureManifest([a, b]);
    const parsed = JSON.parse(manifest.toString()) as { layers: Descriptor[] };
    assert.deepEqual(
      parsed.layers.map((l) => l.annotations?.[COSIGN_SIGNATURE_ANNOTATION]),
      [a.annotations?.[COSIGN_SIGNATURE_ANNOTATION], b.annotations?.[COSIGN_SIGNATURE_ANNOTATION]],
    );
    const cfg = JSON.parse(config.toString()) as { history: unknown[]; rootfs: { diff_ids: string[] } };
    assert.deepEqual(cfg.rootfs.diff_ids, [a.digest, b.digest]);
    assert.equal(cfg.history.length, 2);
  });
});

describe("cosign legacy format: identifying", () => {
  it("recognises a .sig image, its subject taken from the tag", () => {
    const { layer } = signed(generateSigningKey());
    const { manifest } = legacySignatureManifest([layer]);
    const parsed: unknown = JSON.parse(manifest.toString());
    assert.equal(legacySignatureTag(DIGEST), `${DIGEST.replace(":", "-")}.sig`);
    assert.deepEqual(identifySignature(parsed, legacySignatureTag(DIGEST)), {
      format: "cosign-legacy",
      subject: DIGEST,
      layers: [layer],
    });
    assert.equal(identifySignature(parsed)?.subject, "");
    assert.equal(identifySignature(parsed, "latest")?.subject, "");
  });

  it("ignores manifests that hold no signature", () => {
    assert.equal(
      identifySignature({
        schemaVersion: 2,
        layers: [{ mediaType: "application/x", digest: DIGEST, size: 1 }],
      }),
      undefined,
    );
    // A simple-signing layer without its signature annotation is not a signature.
    assert.equal(
      identifySignature({
        layers: [{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: DIGEST, size: 1 }],
      }),
      undefined,
    );
    for (const junk of [null, 42, "x", [], { layers: "no" }])
      assert.equal(identifySignature(junk), undefined);
  });
});

describe("cosign legacy format: verifying", () => {
  const key = generateSigningKey();
  const other = generateSigningKey();

  it("a Wharf signature verifies and names its key; only trusted keys count", async () => {
    const { payload, layer } = signed(key);
    const artifact = legacyArtifact([layer], DIGEST);
    const verdicts = await verifySignatureArtifact(artifact, blobs(payload).read, DIGEST, [
      trusted("other.pub", other),
      trusted("team.pub", key),
    ]);
    assert.deepEqual(verdicts, [{ format: "cosign-legacy", subject: DIGEST, signers: ["team.pub"] }]);
  });

  it("signs with RSA and Ed25519 keys too", async () => {
    for (const type of ["rsa", "ed25519"] as const) {
      const pair =
        type === "rsa" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ed25519");
      const { payload, layer } = signed(pair);
      const [verdict] = await verifySignatureArtifact(
        legacyArtifact([layer], DIGEST),
        blobs(payload).read,
        DIGEST,
        [trusted(type, pair)],
      );
      assert.deepEqual(verdict?.signers, [type]);
    }
  });

  it("a tampered payload fails, with a problem that says so", async () => {
    const { payload, layer } = signed(key);
    const tampered = Buffer.from(payload.toString().replace("team/app", "team/evil"));
    // The stored layer says the tampered bytes' digest (a registry checks digests; the signature must fail).
    const forged = { ...layer, digest: sha256(tampered), size: tampered.length };
    const [verdict] = await verifySignatureArtifact(
      legacyArtifact([forged], DIGEST),
      blobs(tampered).read,
      DIGEST,
      [trusted("team.pub", key)],
    );
    assert.deepEqual(verdict?.signers, []);
    assert.match(verdict?.problem ?? "", /verifies with none of the trusted keys \(team\.pub\)/);
  });

  it("a signature by another key fails (a real cosign signature against the wrong key too)", async () => {
    const { payload, layer } = signed(other);
    const [verdict] = await verifySignatureArtifact(
      legacyArtifact([layer], DIGEST),
      blobs(payload).read,
      DIGEST,
      [trusted("team.pub", key)],
    );
    assert.deepEqual(verdict?.signers, []);
    assert.match(verdict?.problem ?? "", /signed by another key/);

    const realPayload = Buffer.from(real.payload);
    const [realVerdict] = await verifySignatureArtifact(
      legacyArtifact([legacySignatureLayer(realPayload, real.signature)], real.digest),
      blobs(realPayload).read,
      real.digest,
      [parseTrustedKey("other.pub", real.otherPublicKey)],
    );
    assert.deepEqual(realVerdict?.signers, []);
  });

  it("a valid signature for another digest does not count for this one", async () => {
    const { payload, layer } = signed(key, OTHER_DIGEST);
    // Copied under this artifact's .sig tag: the payload still says the other digest.
    const [verdict] = await verifySignatureArtifact(
      legacyArtifact([layer], DIGEST),
      blobs(payload).read,
      DIGEST,
      [trusted("team.pub", key)],
    );
    assert.deepEqual(verdict, {
      format: "cosign-legacy",
      subject: OTHER_DIGEST,
      signers: [],
      problem: `signed by team.pub but for ${OTHER_DIGEST}, not for ${DIGEST}`,
    });
    // Without a tag or an expected digest, the payload says what it signs.
    const untagged = identifySignature(JSON.parse(legacySignatureManifest([layer]).manifest.toString()));
    assert.ok(untagged);
    const [free] = await verifySignatureArtifact(untagged, blobs(payload).read, undefined, [
      trusted("team.pub", key),
    ]);
    assert.deepEqual(free, { format: "cosign-legacy", subject: OTHER_DIGEST, signers: ["team.pub"] });
  });

  it("never throws on bad layers: oversized (not read), unreadable, not JSON, not a cosign payload", async () => {
    const store = blobs();
    const notJson = Buffer.from("not json");
    const otherType = Buffer.from(
      JSON.stringify({ critical: { image: { "docker-manifest-digest": DIGEST }, type: "something else" } }),
    );
    const sig = signPayload(notJson, key);
    const layers: Descriptor[] = [
      { ...legacySignatureLayer(notJson, sig), size: MAX_SIGNATURE_LAYER_BYTES + 1 },
      legacySignatureLayer(Buffer.from("missing"), sig),
      legacySignatureLayer(notJson, sig),
      legacySignatureLayer(otherType, signPayload(otherType, key)),
    ];
    const withBlobs = blobs(notJson, otherType);
    const verdicts = await verifySignatureArtifact(
      legacyArtifact(layers, DIGEST),
      (l) => (l.size > MAX_SIGNATURE_LAYER_BYTES ? store.read(l) : withBlobs.read(l)),
      DIGEST,
      [trusted("team.pub", key)],
    );
    assert.equal(store.reads.length, 0, "the oversized layer was read");
    assert.deepEqual(
      verdicts.map((v) => v.signers.length),
      [0, 0, 0, 0],
    );
    const problems = verdicts.map((v) => v.problem ?? "");
    assert.match(problems[0]!, /larger than 1 MiB: not read/);
    assert.match(problems[1]!, /could not be read: blob unknown/);
    assert.match(problems[2]!, /not a cosign simple-signing JSON document/);
    assert.match(problems[3]!, /type is "something else", not "cosign container image signature"/);
  });
});
