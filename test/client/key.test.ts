import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { cliHome, type CliHome } from "./cli.js";
import { loadPublicKeys, loadSigningKey } from "../../src/client/signing/keys.js";
import { decryptPrivateKey, keyFingerprint, parseTrustedKey } from "../../src/oci/signatures/index.js";

const fixtures = resolve(import.meta.dirname, "..", "fixtures", "signatures");

describe("wharf key generate", () => {
  let cli: CliHome;
  before(async () => {
    cli = await cliHome();
  });
  after(() => cli.cleanup());

  it("writes wharf.key (0600, encrypted) and wharf.pub, and prints their paths and the fingerprint", async () => {
    const cwd = join(cli.dir, "default");
    await mkdir(cwd);
    const result = await cli.run(["key", "generate"], { cwd, env: { WHARF_KEY_PASSWORD: "correct horse" } });
    assert.equal(result.code, 0, result.stderr);
    const keyPem = await readFile(join(cwd, "wharf.key"), "utf8");
    const pubPem = await readFile(join(cwd, "wharf.pub"), "utf8");
    assert.equal((await stat(join(cwd, "wharf.key"))).mode & 0o777, 0o600);
    assert.match(keyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const pair = decryptPrivateKey(keyPem, "correct horse");
    const pub = parseTrustedKey("wharf.pub", pubPem);
    assert.equal(pair.privateKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const fingerprint = keyFingerprint(pub.key);
    assert.equal(keyFingerprint(pair.publicKey), fingerprint);
    assert.ok(result.stdout.includes(join(cwd, "wharf.key")), result.stdout);
    assert.ok(result.stdout.includes(join(cwd, "wharf.pub")), result.stdout);
    assert.ok(result.stdout.includes(fingerprint), result.stdout);
  });

  it("--out names the files; --json reports them", async () => {
    await mkdir(join(cli.dir, "keys"));
    const result = await cli.run(["key", "generate", "--out", "keys/release", "--json"], {
      env: { WHARF_KEY_PASSWORD: "pw" },
    });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      privateKey: string;
      publicKey: string;
      fingerprint: string;
    };
    assert.equal(report.privateKey, join(cli.dir, "keys", "release.key"));
    assert.equal(report.publicKey, join(cli.dir, "keys", "release.pub"));
    const pub = parseTrustedKey("release.pub", await readFile(report.publicKey, "utf8"));
    assert.equal(keyFingerprint(pub.key), report.fingerprint);
  });

  it("never overwrites: an existing .key or .pub stops it, with nothing written", async () => {
    const cwd = join(cli.dir, "existing");
    await mkdir(cwd);
    await writeFile(join(cwd, "wharf.pub"), "mine\n");
    const result = await cli.run(["key", "generate"], { cwd, env: { WHARF_KEY_PASSWORD: "pw" } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /wharf\.pub already exists: not overwritten/);
    assert.equal(await readFile(join(cwd, "wharf.pub"), "utf8"), "mine\n");
    await assert.rejects(stat(join(cwd, "wharf.key")), { code: "ENOENT" });
  });

  it("leaves a cosign key pair in the same directory alone", async () => {
    const cwd = join(cli.dir, "cosign");
    await mkdir(cwd);
    await writeFile(join(cwd, "cosign.key"), "theirs\n");
    await writeFile(join(cwd, "cosign.pub"), "theirs\n");
    const result = await cli.run(["key", "generate"], { cwd, env: { WHARF_KEY_PASSWORD: "pw" } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(join(cwd, "cosign.key"), "utf8"), "theirs\n");
    assert.equal(await readFile(join(cwd, "cosign.pub"), "utf8"), "theirs\n");
  });

  it("without WHARF_KEY_PASSWORD and no terminal, says to set it and writes nothing", async () => {
    const cwd = join(cli.dir, "nopass");
    await mkdir(cwd);
    const result = await cli.run(["key", "generate"], { cwd });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /set WHARF_KEY_PASSWORD/);
    await assert.rejects(stat(join(cwd, "wharf.key")), { code: "ENOENT" });
    await assert.rejects(stat(join(cwd, "wharf.pub")), { code: "ENOENT" });
  });

  it("refuses an empty passphrase", async () => {
    const cwd = join(cli.dir, "empty");
    await mkdir(cwd);
    const result = await cli.run(["key", "generate"], { cwd, env: { WHARF_KEY_PASSWORD: "" } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /passphrase is empty/);
    await assert.rejects(stat(join(cwd, "wharf.key")), { code: "ENOENT" });
  });
});

describe("loading keys for sign and verify", () => {
  const cosignKey = join(fixtures, "cosign-legacy-password-123.key");

  it("takes the passphrase from WHARF_KEY_PASSWORD, else COSIGN_PASSWORD", async () => {
    const a = await loadSigningKey(cosignKey, { env: { WHARF_KEY_PASSWORD: "123", COSIGN_PASSWORD: "x" } });
    const b = await loadSigningKey(cosignKey, { env: { COSIGN_PASSWORD: "123" } });
    assert.equal(keyFingerprint(a.publicKey), keyFingerprint(b.publicKey));
    // cosign keys made with an empty password: COSIGN_PASSWORD="" is a passphrase, not "unset".
    const empty = await loadSigningKey(join(fixtures, "cosign-generated-empty-password.key"), {
      env: { COSIGN_PASSWORD: "" },
    });
    assert.equal(empty.privateKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  });

  it("asks the prompt when no variable is set, and says to set WHARF_KEY_PASSWORD when it cannot ask", async () => {
    const questions: string[] = [];
    const key = await loadSigningKey(cosignKey, {
      env: {},
      prompt: (question) => {
        questions.push(question);
        return Promise.resolve("123");
      },
    });
    assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.deepEqual(questions, [`Passphrase for ${cosignKey}: `]);
    await assert.rejects(loadSigningKey(cosignKey, { env: {} }), /set WHARF_KEY_PASSWORD/);
  });

  it("a wrong passphrase is a usage error naming the file", async () => {
    await assert.rejects(loadSigningKey(cosignKey, { env: { WHARF_KEY_PASSWORD: "nope" } }), (err: Error) => {
      assert.equal(err.name, "UsageError");
      assert.match(err.message, new RegExp(`^wrong passphrase for ${cosignKey}`));
      return true;
    });
  });

  it("a plain PKCS#8 key needs no passphrase at all", async () => {
    const cli = await cliHome();
    try {
      const path = join(cli.dir, "plain.pem");
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      await writeFile(path, privateKey.export({ type: "pkcs8", format: "pem" }));
      const key = await loadSigningKey(path, { env: {} });
      assert.equal(keyFingerprint(key.publicKey), keyFingerprint(privateKey));
    } finally {
      await cli.cleanup();
    }
  });

  it("public keys are named after their file; a private key is refused with a pointer to the .pub", async () => {
    const cli = await cliHome();
    try {
      const pubPath = join(cli.dir, "team.pub");
      const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      await writeFile(pubPath, publicKey.export({ type: "spki", format: "pem" }));
      const keys = await loadPublicKeys([pubPath]);
      assert.deepEqual(
        keys.map((k) => k.name),
        ["team.pub"],
      );
      assert.equal(keyFingerprint(keys[0]!.key), keyFingerprint(publicKey));
      await assert.rejects(
        loadPublicKeys([cosignKey]),
        /is a private key: give its public key \(the \.pub file\)/,
      );
      await assert.rejects(
        loadPublicKeys([join(cli.dir, "missing.pub")]),
        /cannot read key file .*missing\.pub: ENOENT/,
      );
    } finally {
      await cli.cleanup();
    }
  });
});
