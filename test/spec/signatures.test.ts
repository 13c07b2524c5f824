/**
 * Signatures verified when they are pushed: each cosign `.sig` layer and Sigstore bundle referrer is
 * checked against the trusted keys, recorded, re-checked when a key is added, forgotten when its key or
 * its manifest is removed, and shown wherever the discovery API lists artifacts (signed, by which key,
 * verified when), only by keys trusted now and only in the artifact's own repository.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateSigningKey } from "../../src/oci/signatures/index.js";
import { queryMetadata } from "../helpers/backends.js";
import { uniqueRepo } from "./manifest-support.js";
import { ADMIN, addRule, basic, createUser, startAuthServer, type AuthServer } from "../auth/support.js";
import {
  addTrustKey,
  api,
  call,
  listed,
  mountImage,
  pushImage,
  useAuthorization,
  pushBundleSignature,
  pushLegacySignature,
  removeTrustKey,
  sigTag,
  type Signed,
} from "./signature-support.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";

interface AuditEvent {
  action: string;
  repository: string | null;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}

let keyCounter = 0;
/** A fresh key pair and a name no other test registers. */
function freshKey(prefix = "k") {
  keyCounter += 1;
  return { name: `${prefix}${keyCounter}`, key: generateSigningKey() };
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

useAuthorization(basic(ADMIN));

/** A CLI home logged in to the server as `creds`. */
async function loggedIn(server: AuthServer, creds: { name: string; password: string }): Promise<CliHome> {
  const home = await cliHome();
  ok(
    await home.run(["login", server.server.host, "-u", creds.name, "--password-stdin"], {
      input: creds.password,
    }),
  );
  return home;
}

describe("signatures verified on push and listed", () => {
  let server: AuthServer;
  let url: string;

  before(async () => {
    server = await startAuthServer();
    url = server.url;
  });
  after(async () => {
    await server.stop();
  });

  async function audit(repository: string): Promise<AuditEvent[]> {
    const page = await api<{ events: AuditEvent[] }>(
      url,
      `/audit?action=signature.verify&repository=${encodeURIComponent(repository)}`,
    );
    return page.events;
  }

  test("a legacy .sig by a trusted key: the artifact is listed signed by it, with when; audited", async () => {
    const repo = uniqueRepo("sig");
    const { name, key } = freshKey();
    const { fingerprint } = await addTrustKey(url, name, key);
    const image = await pushImage(url, repo, "v1");
    const unsigned = await listed(url, repo, image.digest);
    assert.equal(unsigned.signed, false);
    assert.deepEqual(unsigned.signatures, []);

    const before = Date.now();
    const sig = await pushLegacySignature(url, repo, image.digest, key);
    const entry = await listed(url, repo, image.digest);
    assert.equal(entry.signed, true);
    assert.equal(entry.signatures.length, 1);
    const [s] = entry.signatures;
    assert.equal(s?.key, name);
    assert.equal(s?.fingerprint, fingerprint);
    assert.equal(s?.format, "cosign-legacy");
    assert.equal(s?.digest, sig.digest);
    assert.ok(Date.parse(s?.verifiedAt ?? "") >= before - 1000, `verifiedAt ${s?.verifiedAt}`);

    const events = await audit(repo);
    const verified = events.find((e) => e.target === sig.digest);
    assert.ok(verified, `no signature.verify event: ${JSON.stringify(events)}`);
    assert.equal(verified.outcome, "ok");
    assert.equal(verified.detail?.format, "cosign-legacy");
    assert.equal(verified.detail?.subject, image.digest);
    assert.deepEqual(verified.detail?.signers, [name]);
  });

  test("a Sigstore bundle referrer: signed in the listing, the artifact's details and search", async () => {
    const repo = uniqueRepo("bundle");
    const { name, key } = freshKey();
    await addTrustKey(url, name, key);
    const image = await pushImage(url, repo, "v1");
    const referrer = await pushBundleSignature(url, repo, image, key);

    const entry = await listed(url, repo, image.digest);
    assert.equal(entry.signed, true);
    assert.deepEqual(
      entry.signatures.map((s) => [s.key, s.format, s.digest]),
      [[name, "sigstore-bundle", referrer]],
    );
    const detail = await api<Signed & { accessories: Record<string, (Signed & { digest: string })[]> }>(
      url,
      `/artifacts/${repo}:v1`,
    );
    assert.equal(detail.signed, true);
    assert.equal(detail.signatures[0]?.key, name);
    // The signature itself is an accessory, and nothing signed it.
    const accessory = Object.values(detail.accessories)
      .flat()
      .find((a) => a.digest === referrer);
    assert.ok(accessory, `the bundle is not among the accessories: ${JSON.stringify(detail.accessories)}`);
    assert.equal(accessory.signed, false);

    const search = await api<{ results: (Signed & { repository: string })[] }>(
      url,
      `/search?q=${encodeURIComponent(repo.split("/")[1]!)}`,
    );
    const hit = search.results.find((r) => r.repository === repo && r.digest === image.digest);
    assert.ok(hit, `not found by search: ${JSON.stringify(search)}`);
    assert.equal(hit.signed, true);
    assert.equal(hit.signatures[0]?.key, name);
  });

  test("a signature pushed before its key is registered counts once the key is added, until it is removed", async () => {
    const repo = uniqueRepo("later");
    const { name, key } = freshKey();
    const image = await pushImage(url, repo, "v1");
    const other = await pushImage(url, repo, "v2");
    await pushLegacySignature(url, repo, image.digest, key);
    await pushBundleSignature(url, repo, other, key);
    assert.equal((await listed(url, repo, image.digest)).signed, false);
    assert.equal((await listed(url, repo, other.digest)).signed, false);

    // The re-check runs before the key's addition answers.
    await addTrustKey(url, name, key);
    const legacy = await listed(url, repo, image.digest);
    assert.equal(legacy.signed, true);
    assert.equal(legacy.signatures[0]?.key, name);
    assert.equal((await listed(url, repo, other.digest)).signed, true);

    await removeTrustKey(url, name);
    assert.equal((await listed(url, repo, image.digest)).signed, false);
    assert.equal((await listed(url, repo, other.digest)).signed, false);
    const rows = await queryMetadata<{ n: number | string }>(
      server.dataDir,
      "select count(*) as n from signature_keys where key_name = ?",
      [name],
    );
    assert.equal(Number(rows[0]?.n), 0);
  });

  test("tampered payloads, another digest's signature and an unregistered key never count", async () => {
    const repo = uniqueRepo("bad");
    const trusted = freshKey();
    await addTrustKey(url, trusted.name, trusted.key);
    const stranger = freshKey();
    const image = await pushImage(url, repo, "v1");
    const elsewhere = await pushImage(url, repo, "v2");

    await pushLegacySignature(url, repo, image.digest, trusted.key, { tamper: true });
    await pushBundleSignature(url, repo, image, trusted.key, { tamper: true });
    await pushBundleSignature(url, repo, image, trusted.key, { signs: elsewhere.digest });
    await pushBundleSignature(url, repo, image, stranger.key);
    const entry = await listed(url, repo, image.digest);
    assert.equal(entry.signed, false, JSON.stringify(entry));
    assert.deepEqual(entry.signatures, []);
    // The bundle over v2's digest, stored as v1's referrer, signs neither.
    assert.equal((await listed(url, repo, elsewhere.digest)).signed, false);

    const events = await audit(repo);
    assert.equal(events.length, 4, JSON.stringify(events));
    for (const e of events) {
      assert.equal(e.outcome, "failed");
      assert.equal(typeof e.detail?.problem, "string");
      assert.deepEqual(e.detail?.signers, []);
    }

    // Registering the stranger's key later makes its (sound) signature count, and nothing else.
    await addTrustKey(url, stranger.name, stranger.key);
    const after = await listed(url, repo, image.digest);
    assert.deepEqual(
      after.signatures.map((s) => s.key),
      [stranger.name],
    );
  });

  test("deleting the signature manifest makes the artifact unsigned", async () => {
    const repo = uniqueRepo("del");
    const { name, key } = freshKey();
    await addTrustKey(url, name, key);
    const image = await pushImage(url, repo, "v1");
    const referrer = await pushBundleSignature(url, repo, image, key);
    const sig = await pushLegacySignature(url, repo, image.digest, key);
    assert.equal((await listed(url, repo, image.digest)).signatures.length, 2);

    const res = await call(`${url}/v2/${repo}/manifests/${referrer}`, { method: "DELETE" });
    assert.equal(res.status, 202);
    assert.deepEqual(
      (await listed(url, repo, image.digest)).signatures.map((s) => s.digest),
      [sig.digest],
    );
    // Untagging the .sig keeps its manifest (still a signature); deleting it removes it.
    const untag = await call(`${url}/v2/${repo}/manifests/${sigTag(image.digest)}`, { method: "DELETE" });
    assert.equal(untag.status, 202);
    assert.equal((await listed(url, repo, image.digest)).signed, true);
    const gone = await call(`${url}/v2/${repo}/manifests/${sig.digest}`, { method: "DELETE" });
    assert.equal(gone.status, 202);
    assert.equal((await listed(url, repo, image.digest)).signed, false);
    const rows = await queryMetadata<{ n: number | string }>(
      server.dataDir,
      "select count(*) as n from signatures where repository = ?",
      [repo],
    );
    assert.equal(Number(rows[0]?.n), 0);
  });

  test("a signature pushed before its subject counts once the subject is there", async () => {
    const repo = uniqueRepo("early");
    const { name, key } = freshKey();
    await addTrustKey(url, name, key);
    // The subject's bytes are known (and signed) before the subject is pushed.
    const scratch = uniqueRepo("scratch");
    const image = await pushImage(url, scratch, "v1");
    await pushBundleSignature(url, repo, image, key);
    await pushLegacySignature(url, repo, image.digest, key);
    await mountImage(url, scratch, repo, "v1", image.body);
    const entry = await listed(url, repo, image.digest);
    assert.equal(entry.signed, true);
    assert.deepEqual(entry.signatures.map((s) => s.format).sort(), ["cosign-legacy", "sigstore-bundle"]);
  });

  test("a .sig with two layers by two keys lists both; one stored by digest names its subject by payload", async () => {
    const repo = uniqueRepo("append");
    const a = freshKey();
    const b = freshKey();
    await addTrustKey(url, a.name, a.key);
    await addTrustKey(url, b.name, b.key);
    const image = await pushImage(url, repo, "v1");
    const first = await pushLegacySignature(url, repo, image.digest, a.key);
    const second = await pushLegacySignature(url, repo, image.digest, b.key, { existing: first.layers });
    assert.equal(second.layers.length, 2);
    const entry = await listed(url, repo, image.digest);
    // The first .sig manifest (untagged by the append) still holds a's signature.
    assert.deepEqual(
      entry.signatures.map((s) => `${s.key}@${s.digest}`).sort(),
      [`${a.name}@${first.digest}`, `${a.name}@${second.digest}`, `${b.name}@${second.digest}`].sort(),
    );

    const other = await pushImage(url, repo, "v2");
    const untagged = await pushLegacySignature(url, repo, other.digest, a.key, { untagged: true });
    const signed = await listed(url, repo, other.digest);
    assert.deepEqual(
      signed.signatures.map((s) => s.digest),
      [untagged.digest],
    );
  });

  test("signatures never show across repositories", async () => {
    const repoA = uniqueRepo("xa");
    const repoB = uniqueRepo("xb");
    const { name, key } = freshKey();
    await addTrustKey(url, name, key);
    const image = await pushImage(url, repoA, "v1");
    await pushBundleSignature(url, repoA, image, key);
    // The same manifest in another repository: its digest is signed only in repoA.
    await mountImage(url, repoA, repoB, "v1", image.body);
    assert.equal((await listed(url, repoA, image.digest)).signed, true);
    const inB = await listed(url, repoB, image.digest);
    assert.equal(inB.signed, false);
    assert.deepEqual(inB.signatures, []);
    const detail = await api<Signed>(url, `/artifacts/${repoB}@${image.digest}`);
    assert.equal(detail.signed, false);

    // A caller who may pull only repoB sees it unsigned, and repoA not at all.
    const reader = await createUser(url, `reader${keyCounter}`, "reader-password-1");
    await addRule(url, `user:${reader.name}`, repoB, ["pull"]);
    const asReader = basic(reader);
    assert.equal((await listed(url, repoB, image.digest, asReader)).signed, false);
    const hidden = await call(`${url}/api/v1/repositories/${repoA}/artifacts`, {
      headers: { Authorization: asReader },
    });
    assert.equal(hidden.status, 404);
    await hidden.arrayBuffer();
  });

  test("wharf ls and wharf info show who signed", async () => {
    const home = await loggedIn(server, ADMIN);
    try {
      const repo = uniqueRepo("cli");
      const { name, key } = freshKey("cli");
      await addTrustKey(url, name, key);
      const image = await pushImage(url, repo, "v1");
      await pushImage(url, repo, "v2");
      await pushBundleSignature(url, repo, image, key);

      const tags = ok(await home.run(["ls", `${server.server.host}/${repo}`])).stdout;
      const header = tags.split("\n")[0] ?? "";
      assert.match(header, /SIGNED/);
      assert.match(tags.split("\n").find((l) => l.startsWith("v1 ")) ?? "", new RegExp(`yes \\(${name}\\)`));
      assert.match(tags.split("\n").find((l) => l.startsWith("v2 ")) ?? "", /\bno\s*$/);
      const tagsJson = JSON.parse(
        ok(await home.run(["ls", `${server.server.host}/${repo}`, "--json"])).stdout,
      ) as {
        tags: { tag: string; signed: boolean | null; signatures: { key: string }[] }[];
      };
      const v1 = tagsJson.tags.find((t) => t.tag === "v1");
      assert.equal(v1?.signed, true);
      assert.equal(v1?.signatures[0]?.key, name);

      const namespace = ok(await home.run(["ls", `${server.server.host}/${repo.split("/")[0]}`])).stdout;
      assert.match(namespace.split("\n")[0] ?? "", /SIGNED/);
      const line = namespace.split("\n").find((l) => l.includes(`${repo}:v1`));
      assert.match(line ?? "", new RegExp(`yes \\(${name}\\)`), namespace);

      const info = ok(await home.run(["info", `${server.server.host}/${repo}:v1`])).stdout;
      assert.match(info, new RegExp(`Signed:\\s+by ${name} \\(sigstore-bundle\\), verified \\d{4}-`));
      const infoJson = JSON.parse(
        ok(await home.run(["info", `${server.server.host}/${repo}:v1`, "--json"])).stdout,
      ) as {
        signed: boolean;
        signatures: { key: string; format: string }[];
      };
      assert.equal(infoJson.signed, true);
      assert.equal(infoJson.signatures[0]?.key, name);
      const unsignedInfo = ok(await home.run(["info", `${server.server.host}/${repo}:v2`])).stdout;
      assert.match(unsignedInfo, /Signed:\s+no/);
    } finally {
      await home.cleanup();
    }
  });
});

describe("signatures stored without a record", () => {
  test("are found and recorded at start (an upgrade, or a push that stopped before recording)", async () => {
    let server = await startAuthServer();
    try {
      const repo = uniqueRepo("backfill");
      const { name, key } = freshKey("bf");
      await addTrustKey(server.url, name, key);
      const image = await pushImage(server.url, repo, "v1");
      await pushLegacySignature(server.url, repo, image.digest, key);
      await pushBundleSignature(server.url, repo, image, key);
      assert.equal((await listed(server.url, repo, image.digest)).signatures.length, 2);
      await server.stop({ keepData: true });

      // As a registry from before signatures were recorded left them.
      await queryMetadata(server.dataDir, "delete from signature_keys");
      await queryMetadata(server.dataDir, "delete from signatures");
      server = await server.restart();
      const url = server.url;
      let entry: Signed | undefined;
      // The backfill runs in the background after start: bounded by attempts, not by time.
      for (let attempt = 0; attempt < 100; attempt++) {
        entry = await listed(url, repo, image.digest);
        if (entry.signatures.length === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(entry?.signatures.map((s) => s.format).sort(), ["cosign-legacy", "sigstore-bundle"]);
      assert.ok(entry?.signatures.every((s) => s.key === name));
      const rows = await queryMetadata<{ n: number | string }>(
        server.dataDir,
        "select count(*) as n from signatures where repository = ?",
        [repo],
      );
      assert.equal(Number(rows[0]?.n), 2);
    } finally {
      await server.stop();
    }
  });
});
