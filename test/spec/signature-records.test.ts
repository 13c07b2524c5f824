/**
 * What the registry records of the signatures it holds stays true: a verification belongs to one key (its
 * name and fingerprint), the content of a signature manifest decides what it signs (not the tag it is
 * pushed under), a blob store failure records nothing, the re-check after a key addition is done by one
 * node, and failed verifications are audited.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import {
  COSIGN_SIGNATURE_ANNOTATION,
  generateSigningKey,
  keyFingerprint,
  legacySignatureManifest,
  signPayload,
  simpleSigningPayload,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from "../../src/oci/signatures/index.js";
import { filesystemOnly, queryMetadata } from "../helpers/backends.js";
import { OCI_MANIFEST, uniqueRepo, type Descriptor } from "./manifest-support.js";
import { ADMIN, basic, startAuthServer, type AuthServer } from "../auth/support.js";
import {
  addTrustKey,
  api,
  listed,
  pushBlob,
  pushImage,
  pushLegacySignature,
  putManifest,
  removeTrustKey,
  sigTag,
  useAuthorization,
} from "./signature-support.js";

interface AuditEvent {
  action: string;
  repository: string | null;
  target: string | null;
  outcome: string;
  detail: Record<string, unknown> | null;
}

let keyCounter = 0;
function freshKey(prefix = "rk") {
  keyCounter += 1;
  return { name: `${prefix}${keyCounter}`, key: generateSigningKey() };
}

useAuthorization(basic(ADMIN));

async function auditOf(url: string, action: string): Promise<AuditEvent[]> {
  return (await api<{ events: AuditEvent[] }>(url, `/audit?action=${action}&limit=1000`)).events;
}

/** The blob's file in the filesystem store of a data directory. */
function blobFile(dataDir: string, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(dataDir, "storage", "blobs", "sha256", hex.slice(0, 2), hex);
}

describe("signature records", () => {
  let server: AuthServer;
  let url: string;

  before(async () => {
    server = await startAuthServer();
    url = server.url;
  });
  after(async () => {
    if (process.env.DEBUG_OUT) console.log(server.server.output());
    await server.stop();
  });

  test("a key re-added under the same name never counts what the old key of that name verified", async () => {
    const repo = uniqueRepo("readd");
    const old = freshKey();
    await addTrustKey(url, old.name, old.key);
    const image = await pushImage(url, repo, "v1");
    const sig = await pushLegacySignature(url, repo, image.digest, old.key);
    assert.equal((await listed(url, repo, image.digest)).signed, true);

    await removeTrustKey(url, old.name);
    const replacement = generateSigningKey();
    await addTrustKey(url, old.name, replacement);
    assert.equal((await listed(url, repo, image.digest)).signed, false);
    // What a verification by the old key that raced with its removal leaves behind (PostgreSQL's
    // INSERT … SELECT seeing the key its DELETE removed): it must not count for the new key of that name.
    await queryMetadata(
      server.dataDir,
      "insert into signature_keys (repository, digest, layer, key_name, fingerprint, subject_digest, verified_at) " +
        "values (?, ?, 0, ?, ?, ?, ?)",
      [repo, sig.digest, old.name, keyFingerprint(old.key.publicKey), image.digest, new Date().toISOString()],
    );
    const entry = await listed(url, repo, image.digest);
    assert.equal(entry.signed, false, JSON.stringify(entry));
    assert.deepEqual(entry.signatures, []);

    // The old key itself, registered again, counts again (its re-check confirms the signature).
    await removeTrustKey(url, old.name);
    await addTrustKey(url, old.name, old.key);
    const back = await listed(url, repo, image.digest);
    assert.deepEqual(
      back.signatures.map((s) => [s.key, s.fingerprint]),
      [[old.name, keyFingerprint(old.key.publicKey)]],
    );
  });

  test("pushing a signed .sig manifest again under another .sig tag does not un-sign its subject", async () => {
    const repo = uniqueRepo("retag");
    const { name, key } = freshKey();
    await addTrustKey(url, name, key);
    const image = await pushImage(url, repo, "v1");
    const other = await pushImage(url, repo, "v2");
    await pushLegacySignature(url, repo, image.digest, key);
    assert.equal((await listed(url, repo, image.digest)).signed, true);

    // Anyone allowed to push can tag the same bytes as the other image's signatures.
    const body = await fetchManifest(url, repo, sigTag(image.digest));
    const put = await putManifest(url, repo, sigTag(other.digest), body.bytes, body.mediaType);
    assert.equal(put.status, 201, put.text);

    const entry = await listed(url, repo, image.digest);
    assert.equal(entry.signed, true, JSON.stringify(entry));
    assert.deepEqual(
      entry.signatures.map((s) => s.key),
      [name],
    );
    // The payload signs v1's digest: under v2's tag it signs nothing else.
    assert.equal((await listed(url, repo, other.digest)).signed, false);
  });

  test(
    "a signature layer the store cannot read is not recorded as unsigned: checked once it reads again",
    { skip: filesystemOnly("moves a blob's file away") },
    async () => {
      const repo = uniqueRepo("unread");
      const { name, key } = freshKey();
      await addTrustKey(url, name, key);
      const image = await pushImage(url, repo, "v1");
      const payload = simpleSigningPayload(`127.0.0.1/${repo}`, image.digest);
      const layer: Descriptor = {
        ...(await pushBlob(url, repo, payload, SIMPLE_SIGNING_MEDIA_TYPE)),
        annotations: { [COSIGN_SIGNATURE_ANNOTATION]: signPayload(payload, key) },
      };
      const { manifest, config } = legacySignatureManifest([layer]);
      await pushBlob(url, repo, config);
      const file = blobFile(server.dataDir, layer.digest);
      await rename(file, `${file}.away`);
      try {
        const put = await putManifest(url, repo, sigTag(image.digest), manifest, OCI_MANIFEST);
        assert.equal(put.status, 201, put.text);
        const rows = await queryMetadata<{ n: number | string }>(
          server.dataDir,
          "select count(*) as n from signatures where repository = ?",
          [repo],
        );
        assert.equal(Number(rows[0]?.n), 0, "a signature that could not be read is recorded");
        assert.equal((await listed(url, repo, image.digest)).signed, false);
        const events = (await auditOf(url, "signature.verify")).filter((e) => e.repository === repo);
        assert.equal(events.length, 1, JSON.stringify(events));
        assert.equal(events[0]?.outcome, "failed");
        assert.match(String(events[0]?.detail?.problem), /not checked/);
      } finally {
        await rename(`${file}.away`, file);
      }
      // The next start's backfill checks it.
      await server.stop({ keepData: true });
      server = await server.restart();
      url = server.url;
      let signed = false;
      for (let attempt = 0; attempt < 100 && !signed; attempt++) {
        signed = (await listed(url, repo, image.digest)).signed;
        if (!signed) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(signed, true);
    },
  );

  test("the backfill audits failed verifications too", async () => {
    const repo = uniqueRepo("bfaudit");
    const trusted = freshKey();
    await addTrustKey(url, trusted.name, trusted.key);
    const stranger = freshKey();
    const image = await pushImage(url, repo, "v1");
    const sig = await pushLegacySignature(url, repo, image.digest, stranger.key);
    await server.stop({ keepData: true });
    // As a registry from before signatures were recorded left it.
    await queryMetadata(server.dataDir, "delete from signatures where repository = ?", [repo]);
    server = await server.restart();
    url = server.url;
    let events: AuditEvent[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      events = (await auditOf(url, "signature.verify")).filter(
        (e) => e.repository === repo && e.target === sig.digest,
      );
      if (events.length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // One at the push, one by the backfill; both failed.
    assert.equal(events.length, 2, JSON.stringify(events));
    assert.ok(events.every((e) => e.outcome === "failed"));
  });
});

describe("re-checks after a key addition", () => {
  test("with two worker processes on one database, one of them walks the stored signatures", async () => {
    let server = await startAuthServer();
    try {
      const repo = uniqueRepo("lease");
      const { name, key } = freshKey("lease");
      const image = await pushImage(server.url, repo, "v1");
      await pushLegacySignature(server.url, repo, image.digest, key);
      await addTrustKey(server.url, name, key);
      assert.equal((await listed(server.url, repo, image.digest)).signed, true);
      await server.stop({ keepData: true });
      // As a key added with the CLI's --data-dir, while no server ran, is left: pending, unclaimed.
      await queryMetadata(server.dataDir, "delete from signature_keys where key_name = ?", [name]);
      await queryMetadata(
        server.dataDir,
        "update trust_keys set rechecked_at = null, recheck_claimed_until = null where name = ?",
        [name],
      );
      const before = (
        await queryMetadata<{ n: number | string }>(
          server.dataDir,
          "select count(*) as n from audit_events where action = 'signature.recheck' and target = ?",
          [name],
        )
      )[0]?.n;
      assert.equal(Number(before), 1);

      server = await server.restart({ WHARF_WORKERS: "2" });
      let done = false;
      for (let attempt = 0; attempt < 100 && !done; attempt++) {
        const rows = await queryMetadata<{ rechecked_at: string | null }>(
          server.dataDir,
          "select rechecked_at from trust_keys where name = ?",
          [name],
        );
        done = rows[0]?.rechecked_at !== null && rows[0]?.rechecked_at !== undefined;
        if (!done) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(done, "the pending key was never re-checked");
      assert.equal((await listed(server.url, repo, image.digest)).signed, true);
      // Both workers start and poll; a second walk would have audited a second re-check.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const events = (await auditOf(server.url, "signature.recheck")).filter((e) => e.target === name);
      assert.equal(events.length, 2, JSON.stringify(events));
    } finally {
      await server.stop();
    }
  });
});

async function fetchManifest(url: string, repo: string, reference: string) {
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    headers: {
      Authorization: basic(ADMIN),
      Accept: `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json`,
    },
  });
  assert.equal(res.status, 200);
  return {
    bytes: Buffer.from(await res.arrayBuffer()),
    mediaType: res.headers.get("content-type") ?? OCI_MANIFEST,
  };
}
