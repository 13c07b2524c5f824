import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FlattenedSign } from "jose";
import type { Descriptor } from "../../src/oci/manifest.js";
import {
  identifySignature,
  NOTATION_ARTIFACT_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  parseTrustedKey,
  verifySignatureArtifact,
  type TrustedKey,
} from "../../src/oci/signatures/index.js";

const fixtures = resolve(import.meta.dirname, "..", "fixtures", "signatures");
const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const DIGEST = sha256("the artifact");
const OTHER_DIGEST = sha256("another artifact");
const REAL_DIGEST = "sha256:19dbd2e48e921426ee8ace4dc892edfb2ecdc1d1a72d5416c83670c30acecef0";

/** A certificate authority and a code-signing leaf it issued, made with the openssl CLI. */
interface Pki {
  caPem: string;
  leafPem: string;
  leafKey: KeyObject;
  otherCaPem: string;
  selfSignedPem: string;
  selfSignedKey: KeyObject;
}

function makePki(dir: string): Pki {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ca = (name: string) =>
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "30",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
    );
  ca("ca");
  ca("other-ca");
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=wharf signer",
  );
  writeFileSync(
    join(dir, "leaf.ext"),
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
  );
  openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "10",
    "-out",
    "leaf.crt",
    "-extfile",
    "leaf.ext",
  );
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    "self.key",
    "-out",
    "self.crt",
    "-days",
    "10",
    "-subj",
    "/CN=self signer",
    "-addext",
    "extendedKeyUsage=codeSigning",
  );
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return {
    caPem: read("ca.crt"),
    leafPem: read("leaf.crt"),
    leafKey: createPrivateKey(read("leaf.key")),
    otherCaPem: read("other-ca.crt"),
    selfSignedPem: read("self.crt"),
    selfSignedKey: createPrivateKey(read("self.key")),
  };
}

const der = (pem: string) => new X509Certificate(pem).raw.toString("base64");

interface EnvelopeOptions {
  digest?: string;
  alg?: string;
  chain: string[];
  key: KeyObject;
  header?: Record<string, unknown>;
}

/** A Notation JWS envelope as notation sign writes it (signature-envelope-jws.md). */
async function envelope(o: EnvelopeOptions): Promise<Buffer> {
  const payload = JSON.stringify({
    targetArtifact: {
      digest: o.digest ?? DIGEST,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 481,
    },
  });
  const jws = await new FlattenedSign(Buffer.from(payload))
    .setProtectedHeader({
      alg: o.alg ?? "PS256",
      crit: ["io.cncf.notary.signingScheme"],
      cty: "application/vnd.cncf.notary.payload.v1+json",
      "io.cncf.notary.signingScheme": "notary.x509",
      "io.cncf.notary.signingTime": new Date().toISOString(),
      ...o.header,
    })
    .setUnprotectedHeader({ x5c: o.chain.map(der), "io.cncf.notary.signingAgent": "wharf-test" })
    // jose (rightly) refuses to sign critical headers it is not told about.
    .sign(o.key, {
      crit: {
        "io.cncf.notary.signingScheme": true,
        "io.cncf.notary.expiry": true,
        "com.example.mustUnderstand": true,
      },
    });
  return Buffer.from(JSON.stringify(jws));
}

/** The envelope as a Notation referrer, identified and verified through readLayer. */
async function verifyEnvelope(
  body: Buffer,
  expected: string | undefined,
  keys: TrustedKey[],
  mediaType = NOTATION_JWS_MEDIA_TYPE,
) {
  const layer: Descriptor = { mediaType, size: body.length, digest: sha256(body) };
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: NOTATION_ARTIFACT_TYPE,
    config: { mediaType: "application/vnd.oci.empty.v1+json", size: 2, digest: sha256("{}") },
    layers: [layer],
    subject: {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 481,
      digest: expected ?? DIGEST,
    },
  };
  const artifact = identifySignature(manifest);
  assert.equal(artifact?.format, "notation");
  return verifySignatureArtifact(artifact!, () => Promise.resolve(body), expected, keys);
}

describe("Notation JWS signatures", () => {
  let dir: string;
  let pki: Pki;
  let ca: TrustedKey;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "wharf-notation-"));
    pki = makePki(dir);
    ca = parseTrustedKey("ca.crt", pki.caPem);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a real notation-produced envelope verifies against its certificate as the trust store", async () => {
    const body = readFileSync(join(fixtures, "notation-jws-signature.sig"));
    const x5c = (JSON.parse(body.toString()) as { header: { x5c: string[] } }).header.x5c[0]!;
    const pem = `-----BEGIN CERTIFICATE-----\n${x5c.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
    const verdicts = await verifyEnvelope(body, REAL_DIGEST, [parseTrustedKey("alpine.crt", pem)]);
    // Until the first of its certificates expires (it carries no io.cncf.notary.expiry).
    assert.deepEqual(verdicts, [
      {
        format: "notation",
        subject: REAL_DIGEST,
        signers: ["alpine.crt"],
        expiresAt: new Date(new X509Certificate(pem).validTo).toISOString(),
      },
    ]);
    // The same envelope, another trust store: not trusted.
    const [untrusted] = await verifyEnvelope(body, REAL_DIGEST, [ca]);
    assert.deepEqual(untrusted?.signers, []);
    assert.match(untrusted?.problem ?? "", /does not chain to any trusted certificate \(ca\.crt\)/);
  });

  it("a leaf issued by a trust-store CA verifies (RSA-PSS and the CA named as signer)", async () => {
    const body = await envelope({ chain: [pki.leafPem, pki.caPem], key: pki.leafKey });
    const leafExpiry = new Date(new X509Certificate(pki.leafPem).validTo).toISOString();
    assert.deepEqual(await verifyEnvelope(body, DIGEST, [ca]), [
      { format: "notation", subject: DIGEST, signers: ["ca.crt"], expiresAt: leafExpiry },
    ]);
    // A chain of the leaf alone still anchors: the trusted CA issued it.
    const leafOnly = await envelope({ chain: [pki.leafPem], key: pki.leafKey });
    assert.deepEqual((await verifyEnvelope(leafOnly, DIGEST, [ca]))[0]?.signers, ["ca.crt"]);
  });

  it("a self-signed ECDSA signer verifies when its own certificate is trusted", async () => {
    const body = await envelope({ chain: [pki.selfSignedPem], key: pki.selfSignedKey, alg: "ES256" });
    const verdicts = await verifyEnvelope(body, DIGEST, [parseTrustedKey("self.crt", pki.selfSignedPem)]);
    assert.deepEqual(verdicts[0]?.signers, ["self.crt"]);
  });

  it("a chain to another CA does not count; a bare public key is no trust store", async () => {
    const body = await envelope({ chain: [pki.leafPem, pki.caPem], key: pki.leafKey });
    const [verdict] = await verifyEnvelope(body, DIGEST, [parseTrustedKey("other-ca.crt", pki.otherCaPem)]);
    assert.deepEqual(verdict?.signers, []);
    assert.match(verdict?.problem ?? "", /does not chain to any trusted certificate \(other-ca\.crt\)/);
    const bareKey: TrustedKey = { name: "leaf.pub", key: new X509Certificate(pki.leafPem).publicKey };
    const [bare] = await verifyEnvelope(body, DIGEST, [bareKey]);
    assert.match(bare?.problem ?? "", /no trust-store certificate/);
  });

  it("a tampered payload fails", async () => {
    const body = await envelope({ chain: [pki.leafPem, pki.caPem], key: pki.leafKey });
    const jws = JSON.parse(body.toString()) as { payload: string };
    jws.payload = Buffer.from(
      JSON.stringify({ targetArtifact: { digest: OTHER_DIGEST, mediaType: "x", size: 1 } }),
    ).toString("base64url");
    const [verdict] = await verifyEnvelope(Buffer.from(JSON.stringify(jws)), OTHER_DIGEST, [ca]);
    assert.deepEqual(verdict?.signers, []);
    assert.match(verdict?.problem ?? "", /does not verify with the signing certificate's key/);
  });

  it("a signature by a key other than the certificate's fails", async () => {
    const body = await envelope({
      chain: [pki.leafPem, pki.caPem],
      key: createPrivateKey(readFileSync(join(dir, "other-ca.key"))),
    });
    const [verdict] = await verifyEnvelope(body, DIGEST, [ca]);
    assert.deepEqual(verdict?.signers, []);
    assert.match(verdict?.problem ?? "", /does not verify with the signing certificate's key/);
  });

  it("a valid signature for another digest does not count for this one", async () => {
    const body = await envelope({ digest: OTHER_DIGEST, chain: [pki.leafPem, pki.caPem], key: pki.leafKey });
    const [verdict] = await verifyEnvelope(body, DIGEST, [ca]);
    assert.equal(verdict?.subject, OTHER_DIGEST);
    assert.deepEqual(verdict?.signers, []);
    assert.match(verdict?.problem ?? "", new RegExp(`but for ${OTHER_DIGEST}, not for ${DIGEST}`));
  });

  it("an expired signature, an unknown critical header and another signing scheme fail", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        {
          crit: ["io.cncf.notary.signingScheme", "io.cncf.notary.expiry"],
          "io.cncf.notary.expiry": "2020-01-01T00:00:00Z",
        },
        /expired at 2020-01-01T00:00:00Z/,
      ],
      [
        {
          crit: ["io.cncf.notary.signingScheme", "com.example.mustUnderstand"],
          "com.example.mustUnderstand": "x",
        },
        /requires understanding "com\.example\.mustUnderstand"/,
      ],
      [
        { "io.cncf.notary.signingScheme": "notary.x509.signingAuthority" },
        /signing scheme "notary\.x509\.signingAuthority" is not supported/,
      ],
      [{ cty: "application/json" }, /payload content type is "application\/json"/],
    ];
    for (const [header, problem] of cases) {
      const body = await envelope({ chain: [pki.leafPem, pki.caPem], key: pki.leafKey, header });
      const [verdict] = await verifyEnvelope(body, DIGEST, [ca]);
      assert.deepEqual(verdict?.signers, []);
      assert.match(verdict?.problem ?? "", problem);
    }
  });

  it("a chain whose order is broken, or longer than 10, fails", async () => {
    const broken = await envelope({ chain: [pki.leafPem, pki.otherCaPem], key: pki.leafKey });
    assert.match(
      (await verifyEnvelope(broken, DIGEST, [ca]))[0]?.problem ?? "",
      /is not issued by the next one/,
    );
    const long = await envelope({ chain: Array<string>(11).fill(pki.leafPem), key: pki.leafKey });
    assert.match((await verifyEnvelope(long, DIGEST, [ca]))[0]?.problem ?? "", /longer than 10/);
  });

  it("COSE envelopes are refused clearly; junk never throws", async () => {
    const [cose] = await verifyEnvelope(Buffer.from([0xd2, 0x84]), DIGEST, [ca], "application/cose");
    assert.match(cose?.problem ?? "", /COSE envelopes are not supported/);
    for (const junk of [
      "not json",
      "{}",
      '{"payload":1}',
      JSON.stringify({ payload: "e30", protected: "bm9wZQ", header: {}, signature: "" }),
    ]) {
      const [verdict] = await verifyEnvelope(Buffer.from(junk), DIGEST, [ca]);
      assert.deepEqual(verdict?.signers, []);
      assert.ok(verdict?.problem);
    }
  });
});
