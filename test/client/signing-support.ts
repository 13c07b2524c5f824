import { spawnSync } from "node:child_process";
import {
  X509Certificate,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  sign as signData,
  type KeyObject,
} from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { FlattenedSign } from "jose";
import { join } from "node:path";
import { DSSEBundleBuilder, type Signer } from "@sigstore/sign";
import { bundleToJSON } from "@sigstore/bundle";
import { startWharf } from "../helpers/server.js";
import { startDistribution } from "./distribution.js";

export const BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

export interface Registry {
  url: string;
  host: string;
  stop(): Promise<void>;
}

/** Wharf (referrers API) and Distribution 2.8 (none: the tag fallback). */
export const signingRegistries: { name: string; referrersApi: boolean; start(): Promise<Registry> }[] = [
  {
    name: "wharf serve",
    referrersApi: true,
    start: async () => {
      const s = await startWharf();
      return { url: s.url, host: s.host, stop: () => s.stop() };
    },
  },
  {
    name: "Distribution 2.8 (docker-registry)",
    referrersApi: false,
    start: async () => {
      const d = await startDistribution();
      return { url: `http://${d.host}`, host: d.host, stop: () => d.stop() };
    },
  },
];

export interface KeyFiles {
  /** Private key file (PKCS#8 PEM; encrypted when a passphrase was given). */
  key: string;
  /** Public key file (PKIX PEM, as cosign.pub). */
  pub: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A fresh ECDSA P-256 pair written as NAME.key and NAME.pub in `dir`. */
export async function writeKeyPair(dir: string, name: string, passphrase?: string): Promise<KeyFiles> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = passphrase
    ? privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase })
    : privateKey.export({ type: "pkcs8", format: "pem" });
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  await writeFile(key, pem);
  await writeFile(pub, publicKey.export({ type: "spki", format: "pem" }));
  return { key, pub, privateKey, publicKey };
}

/**
 * A bundle made with @sigstore/sign directly (a third-party signer): a DSSE envelope over the in-toto
 * statement cosign v3 signs, with a key of our own instead of Fulcio, no witnesses (offline).
 */
export async function sigstoreSignBundle(
  digest: string,
  name: string,
  privateKey: KeyObject,
  hint?: string,
): Promise<Buffer> {
  const signer: Signer = {
    sign: async (data) => ({
      signature: signData("sha256", data, privateKey),
      key: {
        $case: "publicKey",
        publicKey: "",
        ...(hint ? { hint } : {}),
      },
    }),
  };
  const statement = {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name, digest: { sha256: digest.replace(/^sha256:/, "") } }],
    predicateType: "https://sigstore.dev/cosign/sign/v1",
    predicate: {},
  };
  const bundle = await new DSSEBundleBuilder({ signer, witnesses: [] }).create({
    data: Buffer.from(JSON.stringify(statement)),
    type: "application/vnd.in-toto+json",
  });
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)));
}

export async function getJson<T>(url: string, accept = `${OCI_MANIFEST}, ${OCI_INDEX}`): Promise<T> {
  const res = await fetch(url, { headers: { Accept: accept } });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function getBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

export interface NotationChain {
  /** The CA certificate (PEM), as a trust store holds it. */
  rootPem: string;
  /** The signing (leaf) certificate's private key. */
  leafKey: KeyObject;
  /** DER of leaf then root, the envelope's x5c. */
  chain: Buffer[];
}

/** A CA and a code-signing leaf it issued (openssl), as Notation's trust model wants them. */
export function notationChain(dir: string, name: string): NotationChain {
  const run = (args: string[]) => {
    const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
  };
  const p = (file: string) => join(dir, `${name}-${file}`);
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("ca.key")]);
  run([
    "req",
    "-x509",
    "-new",
    "-key",
    p("ca.key"),
    "-subj",
    `/CN=${name} CA`,
    "-days",
    "2",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    p("ca.pem"),
  ]);
  run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p("leaf.ec")]);
  run(["pkcs8", "-topk8", "-nocrypt", "-in", p("leaf.ec"), "-out", p("leaf.key")]);
  run(["req", "-new", "-key", p("leaf.key"), "-subj", `/CN=${name} signer`, "-out", p("leaf.csr")]);
  writeFileSync(
    p("leaf.ext"),
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n",
  );
  run([
    "x509",
    "-req",
    "-in",
    p("leaf.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    p("leaf.ext"),
    "-out",
    p("leaf.pem"),
  ]);
  const rootPem = readFileSync(p("ca.pem"), "utf8");
  return {
    rootPem,
    leafKey: createPrivateKey(readFileSync(p("leaf.key"))),
    chain: [new X509Certificate(readFileSync(p("leaf.pem"))).raw, new X509Certificate(rootPem).raw],
  };
}

/**
 * A Notation JWS envelope (notaryproject specifications, signature-envelope-jws.md) over `subject`: the
 * payload `{"targetArtifact": descriptor}`, the notary.x509 signing scheme as a critical protected
 * header, the certificate chain in the unprotected x5c.
 */
export async function notationEnvelope(
  subject: { mediaType: string; digest: string; size: number },
  signer: NotationChain,
): Promise<Buffer> {
  const payload = Buffer.from(JSON.stringify({ targetArtifact: subject }));
  const jws = await new FlattenedSign(payload)
    .setProtectedHeader({
      alg: "ES256",
      cty: "application/vnd.cncf.notary.payload.v1+json",
      crit: ["io.cncf.notary.signingScheme"],
      "io.cncf.notary.signingScheme": "notary.x509",
      "io.cncf.notary.signingTime": new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    })
    .setUnprotectedHeader({
      x5c: signer.chain.map((der) => der.toString("base64")),
      "io.cncf.notary.signingAgent": "wharf-test",
    })
    .sign(signer.leafKey, { crit: { "io.cncf.notary.signingScheme": true } });
  return Buffer.from(JSON.stringify(jws));
}

/** The annotation Notation puts on its signature manifest: SHA-256 of each certificate of the chain. */
export function notationThumbprints(signer: NotationChain): string {
  return JSON.stringify(signer.chain.map((der) => createHash("sha256").update(der).digest("hex")));
}
