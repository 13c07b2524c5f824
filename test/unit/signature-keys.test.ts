import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, sign, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  decryptPrivateKey,
  encryptPrivateKey,
  generateSigningKey,
  keyFingerprint,
  KeyError,
  parseTrustedKey,
  privateKeyNeedsPassphrase,
  publicKeyPem,
  type SigningKey,
} from "../../src/oci/signatures/index.js";

const fixtures = resolve(import.meta.dirname, "..", "fixtures", "signatures");
const fixture = (name: string) => readFileSync(join(fixtures, name), "utf8");

/** The base64 body of a PEM, decoded. */
function pemBody(pem: string): Buffer {
  return Buffer.from(
    pem
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("-----"))
      .join(""),
    "base64",
  );
}

/** The JSON structure with every value replaced by its type: what must match cosign's, byte for byte. */
function shape(value: unknown): unknown {
  if (value === null || typeof value !== "object") return typeof value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "name" ? v : shape(v)]));
}

function signsAndVerifies(key: SigningKey): boolean {
  const message = Buffer.from("wharf");
  return verify("sha256", message, key.publicKey, sign("sha256", message, key.privateKey));
}

describe("signing keys: cosign's encrypted key files", () => {
  it("decrypts a real cosign-generated ENCRYPTED SIGSTORE PRIVATE KEY (empty passphrase)", () => {
    const key = decryptPrivateKey(fixture("cosign-generated-empty-password.key"), "");
    assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.ok(signsAndVerifies(key));
  });

  it("decrypts the older ENCRYPTED COSIGN PRIVATE KEY (passphrase 123)", () => {
    const key = decryptPrivateKey(fixture("cosign-legacy-password-123.key"), "123");
    assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.ok(signsAndVerifies(key));
  });

  it("says the passphrase is wrong, naming the file, instead of a crypto error", () => {
    assert.throws(
      () => decryptPrivateKey(fixture("cosign-legacy-password-123.key"), "1234", "cosign.key"),
      (err: unknown) => err instanceof KeyError && /^wrong passphrase for cosign\.key/.test(err.message),
    );
  });

  it("writes the format cosign writes: same PEM type, JSON fields in Go's order, standard scrypt params", () => {
    const pair = generateSigningKey();
    const pem = encryptPrivateKey(pair, "s3cret");
    assert.match(pem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    assert.match(pem, /\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n$/);
    for (const line of pem.split("\n").slice(1, -2)) assert.ok(line.length <= 64, `line too long: ${line}`);
    const ours = pemBody(pem).toString("utf8");
    const cosigns = pemBody(fixture("cosign-generated-empty-password.key")).toString("utf8");
    // Same keys in the same order (JSON.stringify keeps insertion order) and no whitespace, like Go.
    assert.equal(JSON.stringify(shape(JSON.parse(ours))), JSON.stringify(shape(JSON.parse(cosigns))));
    assert.equal(JSON.stringify(JSON.parse(ours)), ours);
    const envelope = JSON.parse(ours) as {
      kdf: { params: unknown; salt: string };
      cipher: { nonce: string };
    };
    // The params cosign generate-key-pair writes today (the fixture's).
    assert.deepEqual(envelope.kdf.params, (JSON.parse(cosigns) as typeof envelope).kdf.params);
    assert.equal(Buffer.from(envelope.kdf.salt, "base64").length, 32);
    assert.equal(Buffer.from(envelope.cipher.nonce, "base64").length, 24);
    const back = decryptPrivateKey(pem, "s3cret");
    assert.equal(keyFingerprint(back.publicKey), keyFingerprint(pair.publicKey));
    assert.ok(privateKeyNeedsPassphrase(pem));
  });

  it("refuses scrypt parameters outside the known sets before deriving anything", () => {
    const body = JSON.parse(pemBody(fixture("cosign-generated-empty-password.key")).toString("utf8")) as {
      kdf: { params: { N: number } };
    };
    body.kdf.params.N = 2 ** 30;
    const b64 = Buffer.from(JSON.stringify(body)).toString("base64");
    const pem = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    assert.throws(() => decryptPrivateKey(pem, ""), /unexpected scrypt parameters/);
  });

  it("says a corrupted file is not a key file", () => {
    const pem =
      "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGEga2V5\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
    assert.throws(() => decryptPrivateKey(pem, "", "k.key"), /k\.key is not a readable cosign key file/);
  });
});

describe("signing keys: other private key PEMs", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });

  it("reads plain and encrypted PKCS#8 and SEC1", () => {
    const plain = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const sec1 = privateKey.export({ type: "sec1", format: "pem" }) as string;
    const encrypted = privateKey.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "pw",
    }) as string;
    assert.equal(privateKeyNeedsPassphrase(plain), false);
    assert.equal(privateKeyNeedsPassphrase(sec1), false);
    assert.equal(privateKeyNeedsPassphrase(encrypted), true);
    for (const pem of [plain, sec1, encrypted])
      assert.equal(keyFingerprint(decryptPrivateKey(pem, "pw").publicKey), keyFingerprint(privateKey));
    assert.throws(
      () => decryptPrivateKey(encrypted, "nope", "k.pem"),
      /^KeyError: wrong passphrase for k\.pem$/,
    );
  });

  it("refuses a public key given as a private one", () => {
    assert.throws(() => decryptPrivateKey(publicKeyPem(privateKey), ""), /not a private key/);
  });

  it("refuses algorithms it does not trust", () => {
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    assert.throws(
      () => decryptPrivateKey(weak.export({ type: "pkcs8", format: "pem" }) as string, ""),
      /1024 bits is too weak/,
    );
  });
});

describe("trusted (public) keys", () => {
  it("reads cosign.pub-style PKIX PEMs of every accepted algorithm", () => {
    const keys = [
      generateKeyPairSync("ec", { namedCurve: "P-256" }),
      generateKeyPairSync("ec", { namedCurve: "P-384" }),
      generateKeyPairSync("ec", { namedCurve: "P-521" }),
      generateKeyPairSync("rsa", { modulusLength: 2048 }),
      generateKeyPairSync("ed25519"),
    ];
    for (const { publicKey } of keys) {
      const trusted = parseTrustedKey("k.pub", publicKeyPem(publicKey));
      assert.equal(trusted.name, "k.pub");
      assert.equal(keyFingerprint(trusted.key), keyFingerprint(publicKey));
      assert.equal(trusted.certificate, undefined);
    }
  });

  it("writes PKIX PEM as cosign.pub holds it", () => {
    const { publicKey } = generateSigningKey();
    const pem = publicKeyPem(publicKey);
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----\n$/);
    assert.deepEqual(pemBody(pem), publicKey.export({ type: "spki", format: "der" }));
  });

  it("refuses private keys, naming the .pub to give instead", () => {
    const { privateKey } = generateSigningKey();
    for (const pem of [
      privateKey.export({ type: "pkcs8", format: "pem" }) as string,
      encryptPrivateKey({ privateKey, publicKey: privateKey }, "x"),
    ])
      assert.throws(
        () => parseTrustedKey("cosign.key", pem),
        /cosign\.key is a private key: give its public key \(the \.pub file\)/,
      );
  });

  it("refuses unsupported curves and short RSA keys", () => {
    const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey;
    assert.throws(() => parseTrustedKey("k1.pub", publicKeyPem(k1)), /curve secp256k1 is not supported/);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    assert.throws(() => parseTrustedKey("rsa.pub", publicKeyPem(rsa)), /too weak/);
    assert.throws(() => parseTrustedKey("x.pub", "hello"), /not a PEM file/);
  });

  it("reads an X.509 certificate: its key, and the certificate for Notation chains", () => {
    const dir = mkdtempSync(join(tmpdir(), "wharf-cert-"));
    try {
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-keyout",
          join(dir, "k.pem"),
          "-out",
          join(dir, "c.pem"),
          "-days",
          "1",
          "-subj",
          "/CN=wharf test",
        ],
        { stdio: "ignore" },
      );
      const trusted = parseTrustedKey("ca.crt", readFileSync(join(dir, "c.pem"), "utf8"));
      assert.equal(trusted.certificate?.subject, "CN=wharf test");
      const signer = decryptPrivateKey(readFileSync(join(dir, "k.pem"), "utf8"), "");
      assert.equal(keyFingerprint(trusted.key), keyFingerprint(signer.publicKey));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fingerprints the SPKI DER with SHA-256, the same from either half of the pair", () => {
    const pair = generateSigningKey();
    const expected = createHash("sha256")
      .update(pair.publicKey.export({ type: "spki", format: "der" }))
      .digest("hex");
    assert.equal(keyFingerprint(pair.publicKey), expected);
    assert.equal(keyFingerprint(pair.privateKey), expected);
  });
});
