import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWharf, type TestServer } from "../helpers/server.js";
import { testBackend } from "../helpers/backends.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";
import { writeKeyPair, type KeyFiles } from "../client/signing-support.js";
import {
  ADMIN,
  adminCall,
  basic,
  digest,
  MANIFEST_TYPE,
  pushBlob,
  pushImage,
  putManifest,
  startAuthServer,
  type AuthServer,
  type PushedImage,
} from "./support.js";

/**
 * Trust policies enforced on pulls (issue 14): GETs of manifests and blobs in a repository a policy
 * matches need a signature by one of its registered keys, made with the real `wharf sign` and recorded
 * by the server on push; verification material and HEADs stay open; refusals and warnings are audited.
 */

const AUTH = basic(ADMIN);
const INDEX_TYPE = "application/vnd.oci.image.index.v1+json";

function show(result: CliResult): string {
  return `exit ${result.code}\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`;
}

interface ErrorBody {
  errors: { code: string; message: string; detail: Record<string, unknown> }[];
}

describe("trust policies enforced on pulls", { timeout: 300_000 }, () => {
  let server: AuthServer;
  let host: string;
  let cli: CliHome;
  let keysDir: string;
  const keys: Record<string, KeyFiles> = {};

  const wharf = async (args: string[]): Promise<CliResult> => {
    const result = await cli.run(args);
    assert.equal(result.code, 0, `wharf ${args.join(" ")}: ${show(result)}`);
    return result;
  };
  /** `wharf sign` in its default format (a Sigstore bundle referrer), or `legacy` (cosign's `.sig` tag). */
  const sign = (ref: string, key: string, format?: "legacy") =>
    wharf(["sign", `${host}/${ref}`, "--key", keys[key]!.key, ...(format ? ["--format", format] : [])]);
  const get = (path: string, method = "GET") =>
    fetch(`${server.url}/v2/${path}`, { method, headers: { Authorization: AUTH } });

  /** The refusal as the server words it. */
  const message = (repo: string, d: string, policy: string, policyKeys: string[]) =>
    `${repo}@${d} is not signed by a key that trust policy '${policy}' requires ` +
    `(keys: ${policyKeys.join(", ")}); sign it (wharf sign REF --key KEY)`;

  async function assertRefused(res: Response, text: string, detail: Record<string, unknown>) {
    const body = (await res.json()) as ErrorBody;
    assert.equal(res.status, 403, JSON.stringify(body));
    assert.equal(body.errors[0]?.code, "DENIED");
    assert.equal(body.errors[0]?.message, text);
    assert.deepEqual(body.errors[0]?.detail, detail);
    // Clients on containerd's resolver (helm) print only the status line.
    assert.equal(res.statusText, `Forbidden: ${text}`);
  }

  async function assertManifestRefused(repo: string, d: string, reference = d, policy = "prod") {
    const policyKeys = policy === "prod" ? ["ci", "release"] : ["other"];
    await assertRefused(await get(`${repo}/manifests/${reference}`), message(repo, d, policy, policyKeys), {
      policy,
      keys: policyKeys,
      repository: repo,
      digest: d,
    });
  }

  async function assertServed(path: string) {
    const res = await get(path);
    const body = await res.text();
    assert.equal(res.status, 200, `GET ${path}: ${res.status} ${body}`);
  }

  async function auditEvents(action: string, repository: string) {
    const res = await adminCall(server.url, "GET", `/audit?action=${action}&repository=${repository}`);
    assert.equal(res.status, 200);
    return (
      (await res.json()) as {
        events: { target: string; outcome: string; detail: Record<string, unknown> }[];
      }
    ).events;
  }

  before(async () => {
    server = await startAuthServer();
    host = new URL(server.url).host;
    cli = await cliHome();
    keysDir = await mkdtemp(join(tmpdir(), "wharf-trust-keys-"));
    for (const name of ["ci", "release", "other", "mallory"]) keys[name] = await writeKeyPair(keysDir, name);
    const login = await cli.run(["login", host, "-u", ADMIN.name, "--password-stdin"], {
      input: ADMIN.password,
    });
    assert.equal(login.code, 0, show(login));
  });

  after(async () => {
    await server?.stop();
    await cli?.cleanup();
    if (keysDir) await rm(keysDir, { recursive: true, force: true });
  });

  test("setup: keys registered and policies added with the CLI", async () => {
    for (const name of ["ci", "release", "other"]) {
      await wharf(["trust", "key", "add", name, keys[name]!.pub, "--registry", host]);
    }
    const policies: [string, string, string[], string][] = [
      ["prod", "team/**", ["ci", "release"], "enforce"],
      ["eu", "team/both/**", ["other"], "enforce"],
      ["soft", "soft/**", ["ci"], "warn"],
    ];
    for (const [name, repositories, policyKeys, mode] of policies) {
      await wharf([
        "trust",
        "policy",
        "add",
        name,
        "--repositories",
        repositories,
        ...policyKeys.flatMap((k) => ["--key", k]),
        "--mode",
        mode,
        "--registry",
        host,
      ]);
    }
  });

  test("an unsigned artifact is refused by tag and digest, and its blobs; HEAD stays open; served after wharf sign", async () => {
    const image = await pushImage(server.url, "team/app", "v1", AUTH);
    await assertManifestRefused("team/app", image.digest, "v1");
    await assertManifestRefused("team/app", image.digest);
    const head = await get(`team/app/manifests/v1`, "HEAD");
    assert.equal(head.status, 200, "HEAD resolves the digest for verification");
    assert.equal(head.headers.get("docker-content-digest"), image.digest);
    for (const blob of [image.config.digest, image.layer.digest]) {
      const res = await get(`team/app/blobs/${blob}`);
      const text =
        `team/app@${blob} belongs only to artifacts not signed by a key that trust policy 'prod' requires ` +
        `(keys: ci, release); sign them (wharf sign REF --key KEY)`;
      await assertRefused(res, text, {
        policy: "prod",
        keys: ["ci", "release"],
        repository: "team/app",
        digest: blob,
      });
      assert.equal((await get(`team/app/blobs/${blob}`, "HEAD")).status, 200, "blob HEAD stays open");
    }
    // The manifest through the blob endpoint is decided as a manifest.
    assert.equal((await get(`team/app/blobs/${image.digest}`)).status, 403);
    // Tag listing stays readable; a repository no policy matches is untouched.
    await assertServed("team/app/tags/list");
    await pushImage(server.url, "free/app", "v1", AUTH);
    await assertServed("free/app/manifests/v1");

    await sign("team/app:v1", "ci");
    await assertServed("team/app/manifests/v1");
    await assertServed(`team/app/manifests/${image.digest}`);
    await assertServed(`team/app/blobs/${image.config.digest}`);
    await assertServed(`team/app/blobs/${image.layer.digest}`);
  });

  test("every refusal is audited (trust.deny with policy and digest), folded per artifact", async () => {
    const image = await pushImage(server.url, "team/audited", "v1", AUTH);
    for (let i = 0; i < 5; i++) assert.equal((await get(`team/audited/manifests/v1`)).status, 403);
    const events = (await auditEvents("trust.deny", "team/audited")).filter((e) => e.target === image.digest);
    assert.equal(events.length, 1, `five refused pulls of one artifact: one row ${JSON.stringify(events)}`);
    assert.equal(events[0]?.outcome, "denied");
    assert.equal(events[0]?.detail.policy, "prod");
    assert.equal(events[0]?.detail.digest, image.digest);
    assert.deepEqual(events[0]?.detail.keys, ["ci", "release"]);
    // Another artifact is its own row.
    const other = await pushImage(server.url, "team/audited", "v2", AUTH);
    assert.equal((await get(`team/audited/manifests/v2`)).status, 403);
    const targets = (await auditEvents("trust.deny", "team/audited")).map((e) => e.target);
    assert.ok(targets.includes(other.digest), JSON.stringify(targets));
  });

  test("signatures, SBOMs and the referrers listing stay readable; wharf verify can fetch what it needs", async () => {
    const image = await pushImage(server.url, "team/readable", "v1", AUTH);
    // A signature by a key the registry does not know, in both formats: stored, readable, not counted.
    const bundleDigest = (await sign("team/readable:v1", "mallory")).stdout.trim();
    await sign("team/readable:v1", "mallory", "legacy");
    const sbom = await attachSbomTo(server.url, "team/readable", image);
    await assertManifestRefused("team/readable", image.digest, "v1");

    const listing = await get(`team/readable/referrers/${image.digest}`);
    assert.equal(listing.status, 200);
    const referrers = ((await listing.json()) as { manifests: { digest: string }[] }).manifests;
    const listed = referrers.map((m) => m.digest);
    assert.ok(listed.includes(sbom.digest) && listed.includes(bundleDigest), JSON.stringify(listed));
    for (const referrer of referrers) {
      const res = await get(`team/readable/manifests/${referrer.digest}`);
      assert.equal(res.status, 200, `referrer ${referrer.digest}`);
      const manifest = (await res.json()) as { layers: { digest: string }[]; config: { digest: string } };
      for (const blob of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
        await assertServed(`team/readable/blobs/${blob}`);
      }
    }
    const sigTag = `${image.digest.replace(":", "-")}.sig`;
    const legacy = await get(`team/readable/manifests/${sigTag}`);
    assert.equal(legacy.status, 200, "the cosign .sig tag");
    const legacyDigest = legacy.headers.get("docker-content-digest")!;
    const legacyManifest = (await legacy.json()) as { layers: { digest: string }[] };
    await assertServed(`team/readable/manifests/${legacyDigest}`);
    for (const layer of legacyManifest.layers) await assertServed(`team/readable/blobs/${layer.digest}`);
    await assertServed("team/readable/tags/list");

    // The client finds and checks every signature although the artifact itself is refused.
    const mallory = await cli.run(["verify", `${host}/team/readable:v1`, "--key", keys.mallory!.pub]);
    assert.equal(mallory.code, 0, show(mallory));
    const ci = await cli.run(["verify", `${host}/team/readable:v1`, "--key", keys.ci!.pub]);
    assert.equal(ci.code, 10, show(ci));
    assert.doesNotMatch(ci.stderr, /DENIED|not signed by a key that trust policy/, show(ci));
  });

  test("an image that merely names a subject is still an image: refused unsigned", async () => {
    const target = await pushImage(server.url, "team/posing", "v1", AUTH);
    const config = await pushBlob(server.url, "team/posing", Buffer.from('{"os":"linux"}'), AUTH);
    const layer = await pushBlob(server.url, "team/posing", randomBytes(32), AUTH);
    const posing = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
        subject: { mediaType: MANIFEST_TYPE, digest: target.digest, size: target.manifest.length },
      }),
    );
    assert.equal((await putManifest(server.url, "team/posing", "v2", posing, AUTH)).status, 201);
    await assertManifestRefused("team/posing", digest(posing), "v2");
    assert.equal((await get(`team/posing/blobs/${layer.digest}`)).status, 403);
  });

  test("a signature by a key of a different policy does not count; every matching policy must be satisfied", async () => {
    const image = await pushImage(server.url, "team/app2", "v1", AUTH);
    await sign("team/app2:v1", "other", "legacy");
    await assertManifestRefused("team/app2", image.digest, "v1");

    // team/both/** is matched by prod (ci, release) and eu (other): both must be satisfied.
    const both = await pushImage(server.url, "team/both/app", "v1", AUTH);
    await sign("team/both/app:v1", "ci");
    await assertManifestRefused("team/both/app", both.digest, "v1", "eu");
    await sign("team/both/app:v1", "other", "legacy");
    await assertServed("team/both/app/manifests/v1");
  });

  test("key removal: a signed artifact is refused again at once (on every node)", async () => {
    const image = await pushImage(server.url, "team/revoked", "v1", AUTH);
    await sign("team/revoked:v1", "release", "legacy");
    await assertServed("team/revoked/manifests/v1");
    await assertServed(`team/revoked/blobs/${image.layer.digest}`);
    let peer: TestServer | undefined;
    try {
      if (testBackend() !== "embedded") {
        // A second node on the same database (embedded data directories cannot be shared).
        peer = await startWharf({ backend: server.server.backend });
        const res = await fetch(`${peer.url}/v2/team/revoked/manifests/v1`, {
          headers: { Authorization: AUTH },
        });
        assert.equal(res.status, 200, "the peer serves the signed artifact");
      }
      await wharf(["trust", "key", "rm", "release", "--registry", host]);
      await assertManifestRefused("team/revoked", image.digest, "v1");
      assert.equal((await get(`team/revoked/blobs/${image.layer.digest}`)).status, 403);
      if (peer) {
        const res = await fetch(`${peer.url}/v2/team/revoked/manifests/v1`, {
          headers: { Authorization: AUTH },
        });
        assert.equal(res.status, 403, "the peer refuses it too");
      }
    } finally {
      await peer?.stop();
    }
  });

  test("warn mode serves an unsigned artifact with a Warning header and audits it (folded)", async () => {
    const image = await pushImage(server.url, "soft/app", "v1", AUTH);
    for (let i = 0; i < 3; i++) {
      const res = await get("soft/app/manifests/v1");
      assert.equal(res.status, 200);
      assert.equal(
        res.headers.get("warning"),
        `299 - "${message("soft/app", image.digest, "soft", ["ci"])}"`,
      );
      await res.arrayBuffer();
    }
    // Blobs are only refused under enforce policies.
    await assertServed(`soft/app/blobs/${image.layer.digest}`);
    const events = (await auditEvents("trust.warn", "soft/app")).filter((e) => e.target === image.digest);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0]?.outcome, "ok");
    assert.equal(events[0]?.detail.policy, "soft");
    await sign("soft/app:v1", "ci");
    const signed = await get("soft/app/manifests/v1");
    assert.equal(signed.status, 200);
    assert.equal(signed.headers.get("warning"), null, "no warning once signed");
  });

  test("a multi-platform image signed at the index: the index and its children by digest are served", async () => {
    const amd = await pushImage(server.url, "team/multi", "amd64", AUTH);
    const arm = await pushImage(server.url, "team/multi", "arm64", AUTH);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: INDEX_TYPE,
        manifests: [
          {
            mediaType: MANIFEST_TYPE,
            digest: amd.digest,
            size: amd.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
          {
            mediaType: MANIFEST_TYPE,
            digest: arm.digest,
            size: arm.manifest.length,
            platform: { os: "linux", architecture: "arm64" },
          },
        ],
      }),
    );
    const put = await fetch(`${server.url}/v2/team/multi/manifests/v1`, {
      method: "PUT",
      headers: { Authorization: AUTH, "Content-Type": INDEX_TYPE },
      body: new Uint8Array(index),
    });
    assert.equal(put.status, 201);
    await assertManifestRefused("team/multi", digest(index), "v1");
    await assertManifestRefused("team/multi", amd.digest);
    await sign("team/multi:v1", "ci");
    await assertServed("team/multi/manifests/v1");
    for (const child of [amd, arm]) {
      await assertServed(`team/multi/manifests/${child.digest}`);
      await assertServed(`team/multi/blobs/${child.layer.digest}`);
    }
  });

  test("blobs of an unsigned artifact are refused while blobs shared with a signed one are served", async () => {
    const signed = await pushImage(server.url, "team/shared", "signed", AUTH);
    await sign("team/shared:signed", "ci");
    const config = await pushBlob(server.url, "team/shared", Buffer.from('{"os":"linux","n":2}'), AUTH);
    const unique = await pushBlob(server.url, "team/shared", randomBytes(48), AUTH);
    const unsigned = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar", ...signed.layer },
          { mediaType: "application/vnd.oci.image.layer.v1.tar", ...unique },
        ],
      }),
    );
    assert.equal((await putManifest(server.url, "team/shared", "unsigned", unsigned, AUTH)).status, 201);
    await assertManifestRefused("team/shared", digest(unsigned), "unsigned");
    assert.equal((await get(`team/shared/blobs/${config.digest}`)).status, 403, "its own config");
    assert.equal((await get(`team/shared/blobs/${unique.digest}`)).status, 403, "its own layer");
    await assertServed(`team/shared/blobs/${signed.layer.digest}`);
  });
});

/** An SPDX SBOM attached as a referrer of `image` (empty config, one layer), pushed over plain HTTP. */
async function attachSbomTo(url: string, repo: string, image: PushedImage) {
  const empty = await pushBlob(url, repo, Buffer.from("{}"), AUTH);
  const sbom = await pushBlob(url, repo, Buffer.from(JSON.stringify({ spdxVersion: "SPDX-2.3" })), AUTH);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      artifactType: "application/spdx+json",
      config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty },
      layers: [{ mediaType: "application/spdx+json", ...sbom }],
      subject: { mediaType: MANIFEST_TYPE, digest: image.digest, size: image.manifest.length },
    }),
  );
  const d = digest(manifest);
  assert.equal((await putManifest(url, repo, d, manifest, AUTH)).status, 201);
  return { digest: d };
}
