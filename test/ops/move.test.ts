/**
 * `wharf move`: an embedded registry (SQLite + files), filled over HTTP, moved into PostgreSQL + a
 * blob store elsewhere, then served from there and read back byte for byte. Also: a move killed
 * half-way and run again, a corrupt source blob, and the targets a move refuses.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { startWharf, type TestServer } from "../helpers/server.js";
import { backendEnv, type TestBackend } from "../helpers/backends.js";
import { runWharf } from "../client/cli.js";
import {
  ADMIN,
  addRule,
  basic,
  bootstrapAdmin,
  createRobot,
  createUser,
  type Credentials,
} from "../auth/support.js";
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, type Descriptor } from "../spec/manifest-support.js";

/** Where the moves go: PostgreSQL, with blobs in the target's own data directory. */
const TARGET: TestBackend = "postgres";
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

interface MoveRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
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
];

/** Files under `dir` (recursively), e.g. the blobs a filesystem store holds. */
async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile()) n += 1;
  }
  return n;
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
      assert.equal((await asCarol.get(`/v2/move/lib/manifests/latest`)).status, 403);
      assert.equal((await as(served.url, robot).get(`/v2/move/lib/manifests/latest`)).status, 200);
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
});

void spawn;
void once;
void writeFile;
void countFiles;
void postgresCounts;
void sqliteCounts;
void ALL_TABLES;
void moveArgs;
type _T = TestServer;
