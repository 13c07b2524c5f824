import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { attachArtifactToImage, type Credentials } from "./sigstore-oci.js";
import { cliHome, type CliHome, type CliResult } from "./cli.js";
import {
  BUNDLE_TYPE,
  OCI_MANIFEST,
  getBytes,
  getJson,
  notationChain,
  notationEnvelope,
  notationThumbprints,
  signingRegistries,
  sigstoreSignBundle,
  writeKeyPair,
  type KeyFiles,
  type Registry,
} from "./signing-support.js";

const UNVERIFIED = 10;

interface Manifest {
  artifactType?: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
  subject?: { digest: string };
}

function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result;
}

function refused(result: CliResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, `exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  assert.match(result.stderr, message);
}

for (const kind of signingRegistries) {
  describe(`wharf sign / verify on ${kind.name}`, () => {
    let registry: Registry;
    let cli: CliHome;
    let files: string;
    let alice: KeyFiles;
    let bob: KeyFiles;
    let mallory: KeyFiles;
    let locked: KeyFiles;
    let n = 0;

    /** Pushes a fresh artifact (content of its own) as team/NAME:v1; its digest. */
    async function pushNew(name: string): Promise<string> {
      const dir = join(files, `${name}-${n++}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "deploy.yaml"), `kind: Deployment\nmetadata:\n  name: ${name}-${n}\n`);
      return ok(await cli.run(["push", `${registry.host}/team/${name}:v1`, dir])).stdout.trim();
    }
    const ref = (name: string) => `${registry.host}/team/${name}:v1`;
    const manifestUrl = (name: string, reference: string) =>
      `${registry.url}/v2/team/${name}/manifests/${reference}`;

    before(async () => {
      registry = await kind.start();
      cli = await cliHome();
      files = join(cli.dir, "files");
      await mkdir(files, { recursive: true });
      alice = await writeKeyPair(files, "alice");
      bob = await writeKeyPair(files, "bob");
      mallory = await writeKeyPair(files, "mallory");
      locked = await writeKeyPair(files, "locked", "correct horse");
    });
    after(async () => {
      await cli.cleanup();
      await registry.stop();
    });

    test("bundle format: the signature is a referrer of the digest; verify names the key that signed", async () => {
      const digest = await pushNew("bundled");
      const signature = ok(await cli.run(["sign", ref("bundled"), "--key", alice.key])).stdout.trim();
      assert.match(signature, /^sha256:[0-9a-f]{64}$/);
      const manifest = await getJson<Manifest>(manifestUrl("bundled", signature));
      assert.equal(manifest.artifactType, BUNDLE_TYPE);
      assert.equal(manifest.subject?.digest, digest);
      assert.equal(manifest.layers[0]?.mediaType, BUNDLE_TYPE);
      // The signed statement is byte for byte cosign v3's (cmd/cosign/cli/sign: protojson of an intoto v1
      // Statement): one subject with the digest alone — no name — annotations {}, an empty predicate.
      const bundle = JSON.parse(
        (await getBytes(`${registry.url}/v2/team/bundled/blobs/${manifest.layers[0]?.digest}`)).toString(),
      ) as { dsseEnvelope: { payload: string } };
      assert.equal(
        Buffer.from(bundle.dsseEnvelope.payload, "base64").toString(),
        `{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"${digest.slice(7)}"},"annotations":{}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`,
      );
      if (!kind.referrersApi) {
        // The spec's tag fallback: the subject's sha256-<hex> index lists the signature.
        const index = await getJson<{ manifests: { digest: string }[] }>(
          manifestUrl("bundled", digest.replace(":", "-")),
        );
        assert.deepEqual(
          index.manifests.map((m) => m.digest),
          [signature],
        );
      }

      const verified = ok(await cli.run(["verify", ref("bundled"), "--key", alice.pub]));
      assert.match(verified.stdout, /^sigstore-bundle +sha256:[0-9a-f]{12} +signed by alice\.pub$/m);
      assert.match(verified.stderr, /Verified: .*signed by alice\.pub/);
      const json = JSON.parse(
        ok(await cli.run(["verify", ref("bundled"), "--key", bob.pub, "--key", alice.pub, "--json"])).stdout,
      ) as {
        digest: string;
        verified: boolean;
        signers: string[];
        signatures: { format: string; manifest: string; subject: string; signers: string[] }[];
      };
      assert.equal(json.digest, digest);
      assert.equal(json.verified, true);
      assert.deepEqual(json.signers, ["alice.pub"]);
      assert.deepEqual(
        json.signatures.map((s) => [s.format, s.manifest, s.subject, s.signers]),
        [["sigstore-bundle", signature, digest, ["alice.pub"]]],
      );

      refused(
        await cli.run(["verify", ref("bundled"), "--key", mallory.pub]),
        UNVERIFIED,
        /1 signature for .*bundled:v1@sha256:[0-9a-f]{64}, none by a trusted key/,
      );
    });

    test("legacy format: two keys append two layers to one .sig; each verifies", async () => {
      const digest = await pushNew("legacy");
      const sigTag = `${digest.replace(":", "-")}.sig`;
      const first = ok(
        await cli.run(["sign", ref("legacy"), "--key", alice.key, "--format", "legacy"]),
      ).stdout.trim();
      const second = ok(
        await cli.run([
          "sign",
          `${registry.host}/team/legacy@${digest}`,
          "--key",
          bob.key,
          "--format",
          "legacy",
        ]),
      ).stdout.trim();
      assert.notEqual(first, second);
      const manifest = await getJson<Manifest>(manifestUrl("legacy", sigTag));
      assert.equal(manifest.layers.length, 2);
      for (const layer of manifest.layers) {
        assert.equal(layer.mediaType, "application/vnd.dev.cosign.simplesigning.v1+json");
        assert.match(layer.annotations?.["dev.cosignproject.cosign/signature"] ?? "", /^[A-Za-z0-9+/]+=*$/);
        const payload = JSON.parse(
          (await getBytes(`${registry.url}/v2/team/legacy/blobs/${layer.digest}`)).toString(),
        ) as {
          critical: { identity: { "docker-reference": string }; image: { "docker-manifest-digest": string } };
        };
        // cosign's ref.Context().Name(): host and repository, no tag.
        assert.equal(payload.critical.identity["docker-reference"], `${registry.host}/team/legacy`);
        assert.equal(payload.critical.image["docker-manifest-digest"], digest);
      }
      // The same key again adds nothing (cosign's duplicate detection).
      const again = ok(await cli.run(["sign", ref("legacy"), "--key", bob.key, "--format", "legacy"]));
      assert.equal(again.stdout.trim(), second);
      assert.equal((await getJson<Manifest>(manifestUrl("legacy", sigTag))).layers.length, 2);

      ok(await cli.run(["verify", ref("legacy"), "--key", alice.pub]));
      ok(await cli.run(["verify", ref("legacy"), "--key", bob.pub]));
      const both = JSON.parse(
        ok(await cli.run(["verify", ref("legacy"), "--key", alice.pub, "--key", bob.pub, "--json"])).stdout,
      ) as { signers: string[]; signatures: { format: string; signers: string[] }[] };
      assert.deepEqual([...both.signers].sort(), ["alice.pub", "bob.pub"]);
      assert.deepEqual(
        both.signatures.map((s) => [s.format, s.signers]),
        [
          ["cosign-legacy", ["alice.pub"]],
          ["cosign-legacy", ["bob.pub"]],
        ],
      );
      refused(
        await cli.run(["verify", ref("legacy"), "--key", mallory.pub]),
        UNVERIFIED,
        /2 signatures .* none by a trusted key/,
      );
    });

    test("an unsigned artifact, a tampered signature and a signature for another digest all fail", async () => {
      await pushNew("unsigned");
      refused(
        await cli.run(["verify", ref("unsigned"), "--key", alice.pub]),
        UNVERIFIED,
        /no signatures found for .*unsigned:v1@sha256:/,
      );

      // A signed artifact's bundle, its payload changed, attached to another artifact as a referrer.
      const signedDigest = await pushNew("original");
      const signature = ok(await cli.run(["sign", ref("original"), "--key", alice.key])).stdout.trim();
      const layer = (await getJson<Manifest>(manifestUrl("original", signature))).layers[0];
      assert.ok(layer);
      const bundleBytes = await getBytes(`${registry.url}/v2/team/original/blobs/${layer.digest}`);
      const bundle = JSON.parse(bundleBytes.toString()) as { dsseEnvelope: { payload: string } };
      const statement = Buffer.from(bundle.dsseEnvelope.payload, "base64").toString();
      const tamperedDigest = await pushNew("tampered");
      bundle.dsseEnvelope.payload = Buffer.from(
        statement.replace(signedDigest.slice(7), tamperedDigest.slice(7)),
      ).toString("base64");
      const tamperedFile = join(files, "tampered.json");
      await writeFile(tamperedFile, JSON.stringify(bundle));
      ok(
        await cli.run([
          "push",
          `${registry.host}/team/tampered`,
          `${tamperedFile}:${BUNDLE_TYPE}`,
          "--artifact-type",
          BUNDLE_TYPE,
          "--subject",
          ":v1",
        ]),
      );
      refused(
        await cli.run(["verify", ref("tampered"), "--key", alice.pub]),
        UNVERIFIED,
        /1 signature .*tampered:v1@.* none by a trusted key/,
      );

      // The untouched bundle of `original`, attached to another artifact: it signs another digest.
      const otherDigest = await pushNew("other");
      const copied = join(files, "copied.json");
      await writeFile(copied, bundleBytes);
      ok(
        await cli.run([
          "push",
          `${registry.host}/team/other`,
          `${copied}:${BUNDLE_TYPE}`,
          "--artifact-type",
          BUNDLE_TYPE,
          "--subject",
          ":v1",
        ]),
      );
      const other = await cli.run(["verify", ref("other"), "--key", alice.pub, "--json"]);
      assert.equal(other.code, UNVERIFIED, other.stderr);
      const report = JSON.parse(other.stdout) as {
        verified: boolean;
        signatures: { subject: string; signers: string[] }[];
      };
      assert.equal(report.verified, false);
      assert.ok(report.signatures.length === 1 && report.signatures[0]?.subject !== otherDigest);

      // A legacy .sig image of `original` copied under the .sig tag of another artifact beside it.
      ok(await cli.run(["sign", ref("original"), "--key", alice.key, "--format", "legacy"]));
      const secondFile = join(files, "second.txt");
      await writeFile(secondFile, "second\n");
      const second = ok(
        await cli.run(["push", `${registry.host}/team/original:second`, secondFile]),
      ).stdout.trim();
      const sig = await fetch(manifestUrl("original", `${signedDigest.replace(":", "-")}.sig`), {
        headers: { Accept: OCI_MANIFEST },
      });
      assert.equal(sig.status, 200);
      const copy = await fetch(manifestUrl("original", `${second.replace(":", "-")}.sig`), {
        method: "PUT",
        headers: { "content-type": OCI_MANIFEST },
        body: Buffer.from(await sig.arrayBuffer()),
      });
      assert.equal(copy.status, 201);
      refused(
        await cli.run(["verify", `${registry.host}/team/original:second`, "--key", alice.pub]),
        UNVERIFIED,
        /1 signature .* none by a trusted key/,
      );
    });

    test("a signature layer over the size limit is not read, and verify says so", async () => {
      await pushNew("oversized");
      const big = join(files, "big-bundle.json");
      await writeFile(big, Buffer.alloc(1024 * 1024 + 1, 0x20));
      ok(
        await cli.run([
          "push",
          `${registry.host}/team/oversized`,
          `${big}:${BUNDLE_TYPE}`,
          "--artifact-type",
          BUNDLE_TYPE,
          "--subject",
          ":v1",
        ]),
      );
      const result = await cli.run(["verify", ref("oversized"), "--key", alice.pub]);
      refused(
        result,
        UNVERIFIED,
        /skipped: .*1048577 bytes, over the 1048576 a signature may have: not read/,
      );
    });

    test("push --sign signs what it pushed; a missing key or a wrong passphrase pushes nothing", async () => {
      const dir = join(files, "signed-push");
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "svc.yaml"), "kind: Service\n");
      // A key from `wharf key generate` (cosign's encrypted format), as the walkthrough does.
      const password = { WHARF_KEY_PASSWORD: "correct horse" };
      ok(await cli.run(["key", "generate", "--out", join(files, "release")], { env: password }));
      const release = join(files, "release.key");
      const pushed = ok(
        await cli.run(["push", ref("pushsigned"), dir, "--sign", "--key", release], { env: password }),
      );
      assert.match(pushed.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
      assert.match(pushed.stderr, /Signed .*pushsigned@sha256:/);
      ok(await cli.run(["verify", ref("pushsigned"), "--key", join(files, "release.pub")]));
      ok(await cli.run(["push", ref("pushsigned2"), dir, "--sign", "--key", locked.key], { env: password }));
      ok(await cli.run(["verify", ref("pushsigned2"), "--key", locked.pub]));

      refused(await cli.run(["push", ref("nokey"), dir, "--sign"]), 2, /--sign needs --key/);
      refused(
        await cli.run(["push", ref("badpass"), dir, "--sign", "--key", locked.key], {
          env: { WHARF_KEY_PASSWORD: "wrong" },
        }),
        2,
        /wrong passphrase for .*locked\.key/,
      );
      refused(
        await cli.run(["push", ref("nopass"), dir, "--sign", "--key", locked.key]),
        2,
        /WHARF_KEY_PASSWORD/,
      );
      refused(
        await cli.run(["push", ref("pubkey"), dir, "--sign", "--key", alice.pub]),
        2,
        /holds a public key, not a private key/,
      );
      for (const name of ["nokey", "badpass", "nopass", "pubkey"]) {
        const res = await fetch(manifestUrl(name, "v1"), {
          method: "HEAD",
          headers: { Accept: OCI_MANIFEST },
        });
        assert.equal(res.status, 404, `${name} was pushed`);
      }
    });

    test("push --sign --sign-format legacy writes cosign's .sig tag, not a bundle; alone it is refused", async () => {
      const dir = join(files, "legacy-push");
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, "cm.yaml"), "kind: ConfigMap\n");
      const digest = ok(
        await cli.run([
          "push",
          ref("pushlegacy"),
          dir,
          "--sign",
          "--key",
          alice.key,
          "--sign-format",
          "legacy",
        ]),
      ).stdout.trim();
      const sig = await getJson<Manifest>(manifestUrl("pushlegacy", `${digest.replace(":", "-")}.sig`));
      assert.deepEqual(
        sig.layers.map((l) => l.mediaType),
        ["application/vnd.dev.cosign.simplesigning.v1+json"],
      );
      const payload = JSON.parse(
        (await getBytes(`${registry.url}/v2/team/pushlegacy/blobs/${sig.layers[0]?.digest}`)).toString(),
      ) as {
        critical: { identity: { "docker-reference": string }; image: { "docker-manifest-digest": string } };
      };
      assert.equal(payload.critical.identity["docker-reference"], `${registry.host}/team/pushlegacy`);
      assert.equal(payload.critical.image["docker-manifest-digest"], digest);
      const report = JSON.parse(
        ok(await cli.run(["verify", ref("pushlegacy"), "--key", alice.pub, "--json"])).stdout,
      ) as { signatures: { format: string; signers: string[] }[] };
      // The .sig tag alone: no bundle referrer was written.
      assert.deepEqual(
        report.signatures.map((s) => [s.format, s.signers]),
        [["cosign-legacy", ["alice.pub"]]],
      );

      refused(
        await cli.run(["push", ref("formatalone"), dir, "--sign-format", "legacy"]),
        2,
        /--sign-format goes with --sign/,
      );
      refused(
        await cli.run(["push", ref("formatbad"), dir, "--sign", "--key", alice.key, "--sign-format", "v2"]),
        2,
        /--sign-format/,
      );
      for (const name of ["formatalone", "formatbad"]) {
        const res = await fetch(manifestUrl(name, "v1"), {
          method: "HEAD",
          headers: { Accept: OCI_MANIFEST },
        });
        assert.equal(res.status, 404, `${name} was pushed`);
      }
    });

    test("sign refuses a public key, a missing reference, and no --key", async () => {
      await pushNew("refusals");
      refused(
        await cli.run(["sign", ref("refusals"), "--key", alice.pub]),
        2,
        /holds a public key, not a private key/,
      );
      refused(await cli.run(["sign", ref("refusals")]), 2, /sign needs --key/);
      refused(
        await cli.run(["sign", `${registry.host}/team/refusals:nope`, "--key", alice.key]),
        3,
        /not found/,
      );
      refused(await cli.run(["verify", ref("refusals")]), 2, /--key/);
    });

    test("pull --verify-key refuses an unsigned artifact and writes nothing; pulls a signed one", async () => {
      await pushNew("pullme");
      const out = join(cli.dir, "out-unsigned");
      refused(
        await cli.run(["pull", ref("pullme"), "-o", out, "--verify-key", alice.pub]),
        UNVERIFIED,
        /refusing to pull: no signatures found/,
      );
      assert.equal(await stat(out).catch(() => undefined), undefined);
      // Nothing was downloaded either: the cache holds no blob.
      const blobs = await readdir(join(cli.dir, "cache", "wharf", "blobs", "sha256")).catch(() => []);
      assert.deepEqual(blobs, []);

      ok(await cli.run(["sign", ref("pullme"), "--key", bob.key]));
      refused(
        await cli.run(["pull", ref("pullme"), "-o", out, "--verify-key", alice.pub]),
        UNVERIFIED,
        /none by a trusted key/,
      );
      assert.equal(await stat(out).catch(() => undefined), undefined);
      const pulled = ok(
        await cli.run(["pull", ref("pullme"), "-o", out, "--verify-key", alice.pub, "--verify-key", bob.pub]),
      );
      assert.match(pulled.stderr, /Verified: .*signed by bob\.pub/);
      assert.ok((await readdir(out)).length > 0);

      // pull -f: each reference the file declares is verified before it is pulled.
      const values = join(files, "values.yaml");
      await writeFile(values, `image: ${ref("pullme")}\n`);
      const vendor = join(cli.dir, "vendor");
      refused(
        await cli.run(["pull", "-f", values, "-o", vendor, "--verify-key", alice.pub]),
        UNVERIFIED,
        /refusing to pull: .* none by a trusted key/,
      );
      assert.equal(await stat(vendor).catch(() => undefined), undefined);
      ok(await cli.run(["pull", "-f", values, "-o", vendor, "--verify-key", bob.pub]));
      assert.ok((await readdir(vendor)).length > 0);
    });

    test("@sigstore/oci attaches a bundle made with @sigstore/sign; wharf verify accepts it", async () => {
      const digest = await pushNew("thirdparty");
      const bundle = await sigstoreSignBundle(digest, `${registry.host}/team/thirdparty`, alice.privateKey);
      await attachArtifactToImage({
        imageName: `${registry.host}/team/thirdparty`,
        imageDigest: digest,
        artifact: bundle,
        mediaType: BUNDLE_TYPE,
        // Anonymous: the registries here need no login (@sigstore/oci signs in only when given credentials).
        credentials: undefined as unknown as Credentials,
      });
      const verified = JSON.parse(
        ok(await cli.run(["verify", ref("thirdparty"), "--key", alice.pub, "--json"])).stdout,
      ) as { signers: string[]; signatures: { format: string }[] };
      assert.deepEqual(verified.signers, ["alice.pub"]);
      assert.deepEqual(
        verified.signatures.map((s) => s.format),
        ["sigstore-bundle"],
      );
      refused(
        await cli.run(["verify", ref("thirdparty"), "--key", bob.pub]),
        UNVERIFIED,
        /none by a trusted key/,
      );
    });

    test("a Notation signature (JWS) verifies against --trust-store: a directory in Notation's shape, or a PEM file", async () => {
      const digest = await pushNew("notation");
      const res = await fetch(manifestUrl("notation", digest), { headers: { Accept: OCI_MANIFEST } });
      const size = (await res.arrayBuffer()).byteLength;
      const signer = notationChain(files, "acme");
      const stranger = notationChain(files, "stranger");
      const envelope = join(files, "notation.jws.json");
      await writeFile(envelope, await notationEnvelope({ mediaType: OCI_MANIFEST, digest, size }, signer));
      ok(
        await cli.run([
          "push",
          `${registry.host}/team/notation`,
          `${envelope}:application/jose+json`,
          "--artifact-type",
          "application/vnd.cncf.notary.signature",
          "-a",
          `io.cncf.notary.x509chain.thumbprint#S256=${notationThumbprints(signer)}`,
          "--subject",
          ":v1",
        ]),
      );
      // Notation's own trust store layout: truststore/x509/ca/<name>/*.pem
      const store = join(files, "truststore");
      await mkdir(join(store, "x509", "ca", "acme"), { recursive: true });
      await writeFile(join(store, "x509", "ca", "acme", "root.pem"), signer.rootPem);
      const verified = JSON.parse(
        ok(await cli.run(["verify", ref("notation"), "--trust-store", store, "--json"])).stdout,
      ) as { signers: string[]; signatures: { format: string; signers: string[] }[] };
      assert.deepEqual(verified.signers, ["truststore/x509/ca/acme/root.pem"]);
      assert.deepEqual(
        verified.signatures.map((s) => s.format),
        ["notation"],
      );
      // Only x509/ca/<name>/ and x509/signingAuthority/<name>/ anchor signatures: x509/tsa/ holds
      // timestamping roots, which must not vouch for a signer — whether the store, its x509/, or a
      // directory above it (Notation's config directory) is named.
      const mixed = join(files, "notation-config", "truststore");
      await mkdir(join(mixed, "x509", "tsa", "acme"), { recursive: true });
      await writeFile(join(mixed, "x509", "tsa", "acme", "root.pem"), signer.rootPem);
      await mkdir(join(mixed, "x509", "ca", "stranger"), { recursive: true });
      await writeFile(join(mixed, "x509", "ca", "stranger", "root.pem"), stranger.rootPem);
      for (const path of [mixed, join(mixed, "x509"), join(files, "notation-config")]) {
        const report = await cli.run(["verify", ref("notation"), "--trust-store", path, "--json"]);
        assert.equal(report.code, UNVERIFIED, `${path}: ${report.stderr}`);
        assert.deepEqual((JSON.parse(report.stdout) as { signers: string[] }).signers, []);
      }
      const tsaOnly = join(files, "tsa-only");
      await mkdir(join(tsaOnly, "x509", "tsa", "acme"), { recursive: true });
      await writeFile(join(tsaOnly, "x509", "tsa", "acme", "root.pem"), signer.rootPem);
      refused(
        await cli.run(["verify", ref("notation"), "--trust-store", tsaOnly]),
        2,
        /no \.pem, \.crt or \.cer certificates in it \(read: x509\/ca\/<name>\/, x509\/signingAuthority\/<name>\/\)/,
      );
      await mkdir(join(mixed, "x509", "signingAuthority", "acme"), { recursive: true });
      await writeFile(join(mixed, "x509", "signingAuthority", "acme", "root.crt"), signer.rootPem);
      const authority = JSON.parse(
        ok(await cli.run(["verify", ref("notation"), "--trust-store", mixed, "--json"])).stdout,
      ) as { signers: string[] };
      assert.deepEqual(authority.signers, ["truststore/x509/signingAuthority/acme/root.crt"]);

      const pem = join(files, "acme-root.pem");
      await writeFile(pem, signer.rootPem);
      ok(await cli.run(["verify", ref("notation"), "--trust-store", pem]));

      const other = join(files, "stranger-root.pem");
      await writeFile(other, stranger.rootPem);
      refused(
        await cli.run(["verify", ref("notation"), "--trust-store", other]),
        UNVERIFIED,
        /1 signature .* none by a trusted key/,
      );
      refused(
        await cli.run(["verify", ref("notation"), "--key", alice.pub]),
        UNVERIFIED,
        /none by a trusted key/,
      );
    });

    test("an index: sign signs the index digest; --recursive also each manifest it lists", async () => {
      const children: { mediaType: string; digest: string; size: number }[] = [];
      for (const name of ["amd64", "arm64"]) {
        const digest = await pushNew(`multi-${name}`);
        const res = await fetch(manifestUrl(`multi-${name}`, digest), { headers: { Accept: OCI_MANIFEST } });
        const bytes = Buffer.from(await res.arrayBuffer());
        // Into the index's repository (a manifest and its blobs, by copying the artifact).
        ok(
          await cli.run([
            "cp",
            `${registry.host}/team/multi-${name}@${digest}`,
            `${registry.host}/team/multi:${name}`,
          ]),
        );
        children.push({ mediaType: OCI_MANIFEST, digest, size: bytes.length });
      }
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: children,
        }),
      );
      const put = await fetch(manifestUrl("multi", "v1"), {
        method: "PUT",
        headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
        body: index,
      });
      assert.equal(put.status, 201);
      const child = `${registry.host}/team/multi@${children[0]?.digest}`;

      ok(await cli.run(["sign", ref("multi"), "--key", alice.key]));
      ok(await cli.run(["verify", ref("multi"), "--key", alice.pub]));
      refused(await cli.run(["verify", child, "--key", alice.pub]), UNVERIFIED, /no signatures found/);

      const recursive = JSON.parse(
        ok(await cli.run(["sign", ref("multi"), "--key", bob.key, "--recursive", "--json"])).stdout,
      ) as { subject: string; manifests: { subject: string }[] };
      assert.deepEqual(
        recursive.manifests.map((m) => m.subject),
        children.map((c) => c.digest),
      );
      ok(await cli.run(["verify", child, "--key", bob.pub]));
      refused(
        await cli.run(["sign", `${registry.host}/team/multi:amd64`, "--key", bob.key, "--recursive"]),
        2,
        /is not an index/,
      );
    });

    test("wharf info lists the signatures among the accessories", async () => {
      const digest = await pushNew("described");
      const bundleSig = ok(await cli.run(["sign", ref("described"), "--key", alice.key])).stdout.trim();
      const legacySig = ok(
        await cli.run(["sign", ref("described"), "--key", alice.key, "--format", "legacy"]),
      ).stdout.trim();
      const info = JSON.parse(ok(await cli.run(["info", ref("described"), "--json"])).stdout) as {
        digest: string;
        accessories: Record<string, { digest: string }[]>;
      };
      assert.equal(info.digest, digest);
      const accessories = Object.entries(info.accessories).flatMap(([group, list]) =>
        list.map((a) => [group, a.digest]),
      );
      assert.deepEqual(
        accessories.sort(),
        [
          ["cosign-signature", legacySig],
          ["sigstore-bundle", bundleSig],
        ].sort(),
      );
    });
  });
}
