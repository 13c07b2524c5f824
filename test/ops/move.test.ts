/**
 * `wharf move`: an embedded registry (SQLite + files), filled over HTTP, moved into PostgreSQL + a
 * blob store elsewhere, then served from there and read back byte for byte. Also: a move killed
 * half-way and run again, a corrupt source blob, and the targets a move refuses.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { startWharf } from "../helpers/server.js";
import { openBlobStore } from "../../src/cli/backends.js";
import { loadServerConfig } from "../../src/cli/config.js";
import type { BlobStore } from "../../src/storage/blob-store.js";
import { backendEnv, type TestBackend } from "../helpers/backends.js";
import { runWharf } from "../client/cli.js";
import {
  ADMIN,
  addRule,
  basic,
  bearer,
  bootstrapAdmin,
  createRobot,
  createUser,
  getToken,
  type Credentials,
} from "../auth/support.js";
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, type Descriptor } from "../spec/manifest-support.js";

/** Where the moves go: PostgreSQL and the shared S3-compatible server (a fresh database and key prefix each). */
const TARGET: TestBackend = "postgres-s3";
const bin = join(resolve(import.meta.dirname, "..", ".."), "bin", "wharf");
const env = { ...process.env, WHARF_LOG_LEVEL: "warn" } as Record<string, string>;

const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const sha256 = (data: Uint8Array) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** A registry client with one set of credentials (none: anonymous), over plain fetch. */
function as(url: string, creds?: Credentials) {
  const auth: Record<string, string> = creds ? { Authorization: basic(creds) } : {};
  return {
    async blob(repo: string, data: Buffer, mediaType = OCI_LAYER): Promise<Descriptor> {
      const digest = sha256(data);
      const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
        method: "POST",
        headers: { ...auth, "Content-Type": "application/octet-stream" },
        body: new Uint8Array(data),
      });
      assert.equal(res.status, 201, `blob push: ${res.status} ${await res.text()}`);
      return { mediaType, digest, size: data.length };
    },
    /** PUTs a manifest under a tag, or under its digest when no tag is given. */
    async manifest(repo: string, tag: string | undefined, doc: Record<string, unknown>): Promise<Descriptor> {
      const body = Buffer.from(JSON.stringify(doc));
      const res = await fetch(`${url}/v2/${repo}/manifests/${tag ?? sha256(body)}`, {
        method: "PUT",
        headers: { ...auth, "Content-Type": String(doc.mediaType) },
        body: new Uint8Array(body),
      });
      assert.equal(res.status, 201, `manifest push: ${res.status} ${await res.text()}`);
      return { mediaType: String(doc.mediaType), digest: sha256(body), size: body.length };
    },
    async get(
      path: string,
      accept = `${OCI_MANIFEST}, ${OCI_INDEX}`,
    ): Promise<{ status: number; body: Buffer }> {
      const res = await fetch(`${url}${path}`, { headers: { ...auth, Accept: accept } });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    },
    async json<T>(path: string): Promise<T> {
      const got = await this.get(path, "application/json");
      assert.equal(got.status, 200, `GET ${path}: ${got.status} ${got.body.toString()}`);
      return JSON.parse(got.body.toString()) as T;
    },
  };
}

type Client = ReturnType<typeof as>;

/** Pushes an image of `layers` layers (the given ones first) and returns its manifest and blobs. */
async function pushImage(client: Client, repo: string, tag: string, layers: Buffer[]) {
  const config = await client.blob(
    repo,
    Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", nonce: randomBytes(6).toString("hex") }),
    ),
    OCI_CONFIG,
  );
  const descriptors = [];
  for (const layer of layers) descriptors.push(await client.blob(repo, layer));
  const manifest = await client.manifest(repo, tag, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: descriptors,
    annotations: { "org.opencontainers.image.title": `${repo} ${tag}` },
  });
  return { manifest, blobs: [config, ...descriptors] };
}

function moveArgs(from: string, dataDir: string, extra: string[] = []): string[] {
  return ["move", "--from", from, "--data-dir", dataDir, ...extra];
}

async function move(from: string, dataDir: string, target: Record<string, string>, extra: string[] = []) {
  const result = await runWharf(moveArgs(from, dataDir, ["--json", ...extra]), { ...env, ...target });
  return { ...result, report: parseReport(result.stdout) };
}

interface Report {
  ok: boolean;
  blobs: { total: number; copied: number; skipped: number; verified: number; bytesCopied: number };
  tables: { table: string; source: number; inserted: number; target: number }[];
  problems: { digest: string; problem: string }[];
  mismatches: string[];
  uploadsLeft: number;
  legacySigningKeyMoved: boolean;
}

function parseReport(stdout: string): Report | undefined {
  try {
    return JSON.parse(stdout) as Report;
  } catch {
    return undefined;
  }
}

/** Rows per table of a stopped embedded registry, read straight from its SQLite file. */
function sqliteCounts(dataDir: string, tables: string[]): Record<string, number> {
  const db = new SqliteDatabase(join(dataDir, "metadata.db"), { readonly: true });
  try {
    return Object.fromEntries(
      tables.map((t) => [t, (db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n]),
    );
  } finally {
    db.close();
  }
}

async function postgresCounts(url: string, tables: string[]): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const counts: Record<string, number> = {};
    for (const t of tables) {
      counts[t] = Number((await client.query<{ n: string }>(`select count(*) as n from ${t}`)).rows[0]?.n);
    }
    return counts;
  } finally {
    await client.end();
  }
}

const ALL_TABLES = [
  "repositories",
  "blobs",
  "repository_blobs",
  "manifests",
  "manifest_references",
  "tags",
  "users",
  "robots",
  "access_rules",
  "audit_events",
  "artifacts",
  "search_terms",
  "index_marks",
  "token_signing_keys",
  "immutable_rules",
];

/**
 * The target's blob store, opened as a node on the target configuration opens it (filesystem or S3),
 * to look at what a move committed whatever the backend.
 */
async function targetStore(targetDir: string, target: Record<string, string>): Promise<BlobStore> {
  // The S3 store takes credentials from the AWS chain, i.e. this process's environment; every target
  // here is on the one shared test server, so setting them once is right for all of them.
  for (const [name, value] of Object.entries(target)) if (name.startsWith("AWS_")) process.env[name] = value;
  const config = await loadServerConfig({ env: target, flags: { dataDir: targetDir } });
  return openBlobStore(config);
}

async function committed(store: BlobStore, digests: string[]): Promise<number> {
  const present = await Promise.all(digests.map((d) => store.stat(d)));
  return present.filter((p) => p !== null).length;
}

/** Puts other bytes of the same size under a blob's key, as a disk or bucket going bad would. */
async function spoil(store: BlobStore, blob: Descriptor): Promise<void> {
  const id = randomUUID();
  const state = await store.createUpload(id);
  const written = await store.appendUpload(id, state, 0, Readable.from([randomBytes(blob.size)]));
  await store.commitUpload(id, written.state, blob.digest, blob.size);
}

async function readBlob(store: BlobStore, digest: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("wharf move", { timeout: 300_000 }, () => {
  test("moves repositories, images, an index, tags, a referrer, accounts, rules and audit; served from the target byte-identical", async () => {
    const sourceDir = await tempDir("wharf-move-src-");
    await bootstrapAdmin(sourceDir);
    const source = await startWharf({ dataDir: sourceDir, backend: {} });
    const admin = as(source.url, ADMIN);
    const shared = randomBytes(3000);
    const amd = await pushImage(admin, "move/app", "v1", [shared, randomBytes(5000), randomBytes(70_000)]);
    const arm = await pushImage(admin, "move/app", "v2", [randomBytes(4000)]);
    const index = await admin.manifest("move/app", "multi", {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { ...amd.manifest, platform: { os: "linux", architecture: "amd64" } },
        { ...arm.manifest, platform: { os: "linux", architecture: "arm64" } },
      ],
    });
    const lib = await pushImage(admin, "move/lib", "latest", [shared]);
    const sbom = await admin.blob("move/app", Buffer.from('{"sbom":true}'), "application/json");
    const empty = await admin.blob("move/app", Buffer.from("{}"), "application/vnd.oci.empty.v1+json");
    const referrer = await admin.manifest("move/app", undefined, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: "application/spdx+json",
      config: empty,
      layers: [sbom],
      subject: amd.manifest,
    });
    const carol = await createUser(source.url, "carol", "carol-password-1");
    const robot = await createRobot(source.url, "ci", ["move/**"], ["pull"]);
    await addRule(source.url, "user:carol", "move/app", ["pull"]);
    const catalog = await admin.json<{ repositories: string[] }>("/v2/_catalog");
    const token = await getToken(source.url, ["repository:move/app:pull"], carol);
    const audit = await as(source.url, ADMIN).json<{ events: { seq: number; action: string }[] }>(
      "/api/v1/audit?limit=1000",
    );
    await source.stop({ keepData: true });

    const target = await backendEnv(TARGET);
    const targetDir = await tempDir("wharf-move-dst-");
    const moved = await move(sourceDir, targetDir, target);
    assert.equal(moved.code, 0, `wharf move failed:\n${moved.stderr}`);
    assert.ok(moved.report?.ok, moved.stdout);
    const blobsMoved = [...amd.blobs, ...arm.blobs, ...lib.blobs, sbom, empty];
    const distinct = new Set(blobsMoved.map((b) => b.digest));
    assert.equal(moved.report.blobs.copied, distinct.size);
    assert.equal(moved.report.blobs.skipped, 0);

    const served = await startWharf({ dataDir: targetDir, backend: target });
    try {
      const client = as(served.url, ADMIN);
      for (const [repo, manifest] of [
        ["move/app", amd.manifest],
        ["move/app", arm.manifest],
        ["move/app", index],
        ["move/lib", lib.manifest],
      ] as const) {
        const got = await client.get(`/v2/${repo}/manifests/${manifest.digest}`);
        assert.equal(got.status, 200, `${repo}@${manifest.digest}`);
        assert.equal(sha256(got.body), manifest.digest);
      }
      for (const [repo, blobs] of [
        ["move/app", [...amd.blobs, ...arm.blobs, sbom]],
        ["move/lib", lib.blobs],
      ] as const) {
        for (const blob of blobs) {
          const got = await client.get(`/v2/${repo}/blobs/${blob.digest}`, "*/*");
          assert.equal(got.status, 200, `${repo} blob ${blob.digest}`);
          assert.equal(sha256(got.body), blob.digest);
        }
      }
      const tags = await client.json<{ tags: string[] }>("/v2/move/app/tags/list");
      assert.deepEqual([...tags.tags].sort(), ["multi", "v1", "v2"]);
      assert.deepEqual(
        (await client.get(`/v2/move/app/manifests/multi`)).body.toString(),
        (await client.get(`/v2/move/app/manifests/${index.digest}`)).body.toString(),
      );
      assert.deepEqual(await client.json("/v2/_catalog"), catalog);
      const referrers = await client.json<{ manifests: Descriptor[] }>(
        `/v2/move/app/referrers/${amd.manifest.digest}`,
      );
      assert.deepEqual(
        referrers.manifests.map((m) => m.digest),
        [referrer.digest],
      );
      const got = await client.get(`/v2/move/app/manifests/${referrer.digest}`);
      assert.equal(sha256(got.body), referrer.digest);

      // The moved accounts log in; the rule still grants what it granted; the robot still pulls.
      const asCarol = as(served.url, carol);
      assert.equal((await asCarol.get(`/v2/move/app/manifests/v1`)).status, 200);
      // The signing key came along: a token the old registry issued is still good.
      const withToken = await fetch(`${served.url}/v2/move/app/manifests/v1`, {
        headers: { Authorization: bearer(token), Accept: OCI_MANIFEST },
      });
      assert.equal(withToken.status, 200);
      assert.equal(sha256(Buffer.from(await withToken.arrayBuffer())), amd.manifest.digest);
      assert.equal((await asCarol.get(`/v2/move/lib/manifests/latest`)).status, 403);
      assert.equal((await as(served.url, robot).get(`/v2/move/lib/manifests/latest`)).status, 200);
      // Both log in to the token endpoint as well (what docker login does).
      await getToken(served.url, ["repository:move/app:pull"], carol);
      await getToken(served.url, ["repository:move/lib:pull"], robot);
      assert.equal(
        (await as(served.url, { name: "carol", password: "wrong-password" }).get("/v2/")).status,
        401,
      );

      // The audit log came along with its sequence numbers, and new events number after them.
      const after = await client.json<{ events: { seq: number; action: string }[] }>(
        "/api/v1/audit?limit=1000",
      );
      const old = new Map(audit.events.map((e) => [e.seq, e.action]));
      for (const [seq, action] of old) {
        assert.equal(after.events.find((e) => e.seq === seq)?.action, action, `audit event ${seq}`);
      }
      await createUser(served.url, "dave", "dave-password-1");
      const latest = await client.json<{ events: { seq: number; action: string }[] }>(
        "/api/v1/audit?limit=1",
      );
      assert.equal(latest.events[0]?.action, "user.add");
      assert.ok(
        (latest.events[0]?.seq ?? 0) > Math.max(...old.keys()),
        "a new event numbers after the moved ones",
      );
    } finally {
      await served.stop();
    }
  });

  test("a move killed half-way completes when run again, with nothing duplicated", async () => {
    const source = await startWharf({ backend: {} });
    const client = as(source.url);
    const layers = Array.from({ length: 48 }, () => randomBytes(1024 * 1024));
    const images = [];
    for (let i = 0; i < 4; i++) {
      images.push(await pushImage(client, `bulk/r${i}`, "v1", layers.slice(i * 12, (i + 1) * 12)));
    }
    await source.stop({ keepData: true });
    dirs.push(source.dataDir);

    const target = await backendEnv(TARGET);
    const targetDir = await tempDir("wharf-move-dst-");
    const child = spawn(process.execPath, [bin, ...moveArgs(source.dataDir, targetDir)], {
      env: { ...env, ...target },
      stdio: "ignore",
    });
    const exited = once(child, "exit");
    // Killed once a few blobs have arrived: neither before the move started nor after it finished.
    const digests = [...new Set(images.flatMap((image) => image.blobs.map((b) => b.digest)))];
    const store = await targetStore(targetDir, target);
    let seen = 0;
    while (child.exitCode === null && (seen = await committed(store, digests)) < 3) {
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, "SIGKILL", `the first move was not interrupted (exit ${code})`);
    assert.ok(seen >= 3);
    const total = digests.length;
    const partial = await committed(store, digests);
    assert.ok(partial < total, `the first move copied everything (${partial}) before it was killed`);

    const rerun = await move(source.dataDir, targetDir, target);
    assert.equal(rerun.code, 0, `the second move failed:\n${rerun.stderr}`);
    assert.ok(rerun.report?.ok, rerun.stdout);
    assert.equal(rerun.report.blobs.copied + rerun.report.blobs.skipped, total);
    assert.ok(rerun.report.blobs.skipped >= partial, "blobs the first run committed are not copied again");
    assert.equal(await committed(store, digests), total);
    // Counted outside the move's own report: the target holds each source row once.
    assert.deepEqual(
      await postgresCounts(target.WHARF_METADATA_URL ?? "", ALL_TABLES),
      sqliteCounts(source.dataDir, ALL_TABLES),
    );
    // A third run finds nothing to do.
    const again = await move(source.dataDir, targetDir, target);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.report?.blobs.copied, 0);
    assert.ok(again.report?.tables.every((t) => t.inserted === 0 || t.table === "search_terms"));

    // A blob gone bad in the target since: trusted by size, but --verify-existing re-hashes and replaces it.
    const victim = images[0]?.blobs[1] as Descriptor;
    await spoil(store, victim);
    assert.notEqual(sha256(await readBlob(store, victim.digest)), victim.digest);
    const verified = await move(source.dataDir, targetDir, target, ["--verify-existing"]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal(verified.report?.blobs.copied, 1);
    assert.equal(verified.report?.blobs.verified, total - 1);
    assert.equal(sha256(await readBlob(store, victim.digest)), victim.digest);
    (store as { close?: () => void }).close?.();

    const served = await startWharf({ dataDir: targetDir, backend: target });
    try {
      const reader = as(served.url);
      for (const [i, image] of images.entries()) {
        const got = await reader.get(`/v2/bulk/r${i}/manifests/v1`);
        assert.equal(sha256(got.body), image.manifest.digest);
        const last = image.blobs[image.blobs.length - 1] as Descriptor;
        assert.equal(
          sha256((await reader.get(`/v2/bulk/r${i}/blobs/${last.digest}`, "*/*")).body),
          last.digest,
        );
      }
    } finally {
      await served.stop();
    }
  });

  test("a corrupt source blob is reported by digest, not copied, and the move exits non-zero", async () => {
    const source = await startWharf({ backend: {} });
    const image = await pushImage(as(source.url), "bad/app", "v1", [
      randomBytes(20_000),
      randomBytes(30_000),
    ]);
    await source.stop({ keepData: true });
    dirs.push(source.dataDir);
    const bad = image.blobs[1] as Descriptor;
    const hex = bad.digest.slice("sha256:".length);
    const path = join(source.dataDir, "storage", "blobs", "sha256", hex.slice(0, 2), hex);
    // Same size, other bytes: only hashing finds it.
    await writeFile(path, randomBytes(bad.size));

    const target = await backendEnv(TARGET);
    const targetDir = await tempDir("wharf-move-dst-");
    const moved = await move(source.dataDir, targetDir, target);
    assert.equal(moved.code, 5, moved.stderr);
    assert.match(moved.stderr, new RegExp(`${bad.digest} \\(corrupt`));
    assert.deepEqual(
      moved.report?.problems.map((p) => [p.digest, p.problem]),
      [[bad.digest, "corrupt"]],
    );
    assert.equal(moved.report?.blobs.copied, image.blobs.length - 1);
    // Nor does any row promise it.
    const client = new pg.Client({ connectionString: target.WHARF_METADATA_URL });
    await client.connect();
    try {
      const rows = await client.query("select digest from blobs where digest = $1", [bad.digest]);
      assert.equal(rows.rowCount, 0);
    } finally {
      await client.end();
    }
    // Served from the target: the good blobs are there, the corrupt one is absent (not served bad).
    const served = await startWharf({ dataDir: targetDir, backend: target });
    try {
      for (const blob of image.blobs) {
        const res = await fetch(`${served.url}/v2/bad/app/blobs/${blob.digest}`, { method: "HEAD" });
        assert.equal(res.status, blob === bad ? 404 : 200, blob.digest);
      }
    } finally {
      await served.stop();
    }
  });

  test("immutable-tag rules move as the source has them: a removed default rule stays removed, a custom one arrives", async () => {
    const sourceDir = await tempDir("wharf-move-src-");
    await bootstrapAdmin(sourceDir);
    const source = await startWharf({ dataDir: sourceDir, backend: {} });
    const admin = { Authorization: basic(ADMIN), "Content-Type": "application/json" };
    const removed = await fetch(`${source.url}/api/v1/immutable/semver`, {
      method: "DELETE",
      headers: admin,
    });
    assert.equal(removed.status, 204, await removed.text());
    const added = await fetch(`${source.url}/api/v1/immutable`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ name: "releases", repositories: "prod/**", tags: "release-*", kind: "glob" }),
    });
    assert.equal(added.status, 201, await added.text());
    await pushImage(as(source.url, ADMIN), "prod/app", "release-1", [randomBytes(1000)]);
    await source.stop({ keepData: true });

    const target = await backendEnv(TARGET);
    const targetDir = await tempDir("wharf-move-dst-");
    const moved = await move(sourceDir, targetDir, target);
    assert.equal(moved.code, 0, `wharf move failed:\n${moved.stderr}`);
    assert.ok(moved.report?.ok, moved.stdout);
    // A rerun keeps what the first run copied (it must not clear the rules again and lose them).
    const rerun = await move(sourceDir, targetDir, target);
    assert.equal(rerun.code, 0, rerun.stderr);

    const served = await startWharf({ dataDir: targetDir, backend: target });
    try {
      const client = as(served.url, ADMIN);
      const { rules } = await client.json<{ rules: { name: string; repositories: string; tags: string }[] }>(
        "/api/v1/immutable",
      );
      assert.deepEqual(
        rules.map((r) => [r.name, r.repositories, r.tags]),
        [["releases", "prod/**", "release-*"]],
      );
      // Enforced on the target: the moved rule refuses a move of its tag; a version tag is not protected.
      const other = await pushImage(client, "prod/app", "v1.0.0", [randomBytes(1000)]);
      const refused = await fetch(`${served.url}/v2/prod/app/manifests/release-1`, {
        method: "PUT",
        headers: { Authorization: basic(ADMIN), "Content-Type": OCI_MANIFEST },
        body: new Uint8Array((await client.get(`/v2/prod/app/manifests/${other.manifest.digest}`)).body),
      });
      assert.equal(refused.status, 403, await refused.text());
      await pushImage(client, "prod/app", "v1.0.0", [randomBytes(1000)]);
    } finally {
      await served.stop();
    }
  });

  test("a signing key still in the data directory's file (from before it moved into the database) is moved into the target database", async () => {
    const sourceDir = await tempDir("wharf-move-src-");
    await bootstrapAdmin(sourceDir);
    const source = await startWharf({ dataDir: sourceDir, backend: {} });
    const token = await getToken(source.url, ["repository:old/app:pull"], ADMIN);
    await source.stop({ keepData: true });
    // As an older Wharf left it: the key in auth/token-signing-key.json, none in the database.
    const db = new SqliteDatabase(join(sourceDir, "metadata.db"));
    const { jwk } = db.prepare("select jwk from token_signing_keys").get() as { jwk: string };
    db.prepare("delete from token_signing_keys").run();
    db.close();
    await mkdir(join(sourceDir, "auth"), { mode: 0o700 });
    await writeFile(join(sourceDir, "auth", "token-signing-key.json"), jwk, { mode: 0o600 });

    const target = await backendEnv(TARGET);
    const targetDir = await tempDir("wharf-move-dst-");
    const moved = await move(sourceDir, targetDir, target);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(moved.report?.legacySigningKeyMoved, true);
    const served = await startWharf({ dataDir: targetDir, backend: target });
    try {
      const res = await fetch(`${served.url}/v2/`, { headers: { Authorization: bearer(token) } });
      await res.arrayBuffer();
      assert.equal(res.status, 200, "a token the old registry issued is valid on the new one");
    } finally {
      await served.stop();
    }
  });

  test("refuses a source a server runs on, a target in the source's directory, and another registry's target", async () => {
    const one = await startWharf({ backend: {} });
    await pushImage(as(one.url), "one/app", "v1", [randomBytes(1000)]);
    const target = await backendEnv(TARGET);
    const targetDir = await tempDir("wharf-move-dst-");

    const busy = await move(one.dataDir, targetDir, target);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /in use by wharf serve \(pid \d+/);
    await one.stop({ keepData: true });
    dirs.push(one.dataDir);

    const same = await move(one.dataDir, one.dataDir, {});
    assert.equal(same.code, 2);
    assert.match(same.stderr, /the target \(sqlite \+ filesystem\) lives in .*the source/);

    assert.equal((await move(one.dataDir, targetDir, target)).code, 0);
    const two = await startWharf({ backend: {} });
    await pushImage(as(two.url), "two/app", "v1", [randomBytes(1000)]);
    await two.stop({ keepData: true });
    dirs.push(two.dataDir);
    const other = await move(two.dataDir, await tempDir("wharf-move-dst-"), target);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /filled by a move from .*refusing to merge two registries/);

    // A database a node already serves (it has repositories of its own) is not a move's target either.
    const used = await startWharf({ backend: await backendEnv(TARGET) });
    await pushImage(as(used.url), "used/app", "v1", [randomBytes(1000)]);
    await used.stop();
    const busyTarget = await move(two.dataDir, await tempDir("wharf-move-dst-"), used.backend);
    assert.equal(busyTarget.code, 1);
    assert.match(busyTarget.stderr, /the target database is not empty \(its repositories table has rows\)/);
    const missing = await move(join(targetDir, "nothing"), targetDir, target);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no embedded registry there/);
  });
});
