/**
 * Immutable tags (issue 13): every path that moves or removes a tag, by tag and by digest, with and
 * without `?tag=`, for an administrator and for a user who may push and delete; the identical re-push;
 * rules by glob, regex and the `semver` keyword; a rule added on one node enforced by another.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import {
  ADMIN,
  addRule,
  adminCall,
  basic,
  bootstrapAdmin,
  createUser,
  digest,
  imageManifest,
  MANIFEST_TYPE,
  pushBlob,
  sleep,
  startAuthServer,
  type AuthServer,
} from "../auth/support.js";
import {
  backendEnv,
  backendOf,
  createTestDatabase,
  queryMetadata,
  testBackend,
} from "../helpers/backends.js";
import { openPostgres, openSqlite, type Db } from "../../src/metadata/database.js";
import { findManifest, insertManifest } from "../../src/metadata/manifests.js";
import { setTag, tagsOf } from "../../src/metadata/tags.js";
import { ManifestService } from "../../src/registry/manifests.js";
import { QuotaService } from "../../src/registry/quotas/service.js";
import { ImmutableTagError, ImmutableTags } from "../../src/registry/immutable/service.js";
import { startWharf, type TestServer } from "../helpers/server.js";
import { readErrors, uniqueRepo } from "./manifest-support.js";
import { undoLifecycleMigrations } from "../helpers/downgrade.js";

const DEV = { name: "dev", password: "dev-password-1" };

interface Pusher {
  who: string;
  auth: string;
}

/** A fresh manifest (its blobs pushed) in `repo`: each call has a different digest. */
async function freshManifest(
  url: string,
  repo: string,
  auth: string,
): Promise<{ body: Buffer; digest: string }> {
  const config = await pushBlob(
    url,
    repo,
    Buffer.from(JSON.stringify({ nonce: randomBytes(6).toString("hex") })),
    auth,
  );
  const layer = await pushBlob(url, repo, randomBytes(32), auth);
  const body = imageManifest(config, layer);
  return { body, digest: digest(body) };
}

function put(url: string, repo: string, reference: string, body: Buffer, auth: string, query = "") {
  return fetch(`${url}/v2/${repo}/manifests/${reference}${query}`, {
    method: "PUT",
    headers: { Authorization: auth, "Content-Type": MANIFEST_TYPE },
    body: new Uint8Array(body),
  });
}

function del(url: string, repo: string, reference: string, auth: string) {
  return fetch(`${url}/v2/${repo}/manifests/${reference}`, {
    method: "DELETE",
    headers: { Authorization: auth },
  });
}

/** The digest a tag points at, or undefined (404). */
async function tagDigest(url: string, repo: string, tag: string, auth: string): Promise<string | undefined> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    method: "HEAD",
    headers: { Authorization: auth, Accept: MANIFEST_TYPE },
  });
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, `HEAD ${repo}:${tag}`);
  return res.headers.get("docker-content-digest") ?? undefined;
}

async function expect201(res: Response, what: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 201, `${what}: ${res.status} ${text}`);
}

/** Asserts the refusal: 403 DENIED, the exact message, and the detail naming tag, rule and digest. */
async function expectImmutable(
  res: Response,
  expected: { message: string; tag: string; rule: string; repository: string; digest: string },
): Promise<void> {
  assert.equal(res.status, 403, `expected 403, got ${res.status}`);
  // For clients that print only the status line (containerd's resolver: helm, nerdctl).
  assert.equal(res.statusText, `Forbidden: ${expected.message}`);
  const errors = await readErrors(res);
  assert.equal(errors.length, 1);
  const [error] = errors;
  assert.equal(error?.code, "DENIED");
  assert.equal(error?.message, expected.message);
  const detail = error?.detail as Record<string, unknown>;
  assert.equal(detail.tag, expected.tag);
  assert.equal(detail.rule, expected.rule);
  assert.equal(detail.repository, expected.repository);
  assert.equal(detail.digest, expected.digest);
}

async function addImmutable(url: string, rule: Record<string, string>): Promise<void> {
  const res = await adminCall(url, "POST", "/immutable", rule);
  assert.equal(res.status, 201, `adding rule ${rule.name}: ${await res.text()}`);
}

async function removeImmutable(url: string, name: string): Promise<void> {
  const res = await adminCall(url, "DELETE", `/immutable/${name}`);
  assert.equal(res.status, 204, `removing rule ${name}: ${await res.text()}`);
}

const INDEX_TYPE = "application/vnd.oci.image.index.v1+json";

/** A fresh image manifest and the layer it references. */
async function imageWithLayer(url: string, repo: string, auth: string) {
  const config = await pushBlob(url, repo, Buffer.from(`{"n":"${randomBytes(6).toString("hex")}"}`), auth);
  const layer = await pushBlob(url, repo, randomBytes(48), auth);
  const body = imageManifest(config, layer);
  return { body, digest: digest(body), layer: layer.digest };
}

/** An index (stored under `reference`) of the given manifests. */
async function putIndex(
  url: string,
  repo: string,
  reference: string | undefined,
  children: { body: Buffer; digest: string; mediaType?: string }[],
  auth: string,
): Promise<{ body: Buffer; digest: string; mediaType: string }> {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX_TYPE,
      manifests: children.map((c, i) => ({
        mediaType: c.mediaType ?? MANIFEST_TYPE,
        digest: c.digest,
        size: c.body.length,
        platform: { os: "linux", architecture: `arch${i}` },
      })),
    }),
  );
  const res = await fetch(`${url}/v2/${repo}/manifests/${reference ?? digest(body)}`, {
    method: "PUT",
    headers: { Authorization: auth, "Content-Type": INDEX_TYPE },
    body: new Uint8Array(body),
  });
  await expect201(res, `index ${reference ?? "by digest"}`);
  return { body, digest: digest(body), mediaType: INDEX_TYPE };
}

function delBlob(url: string, repo: string, blob: string, auth: string) {
  return fetch(`${url}/v2/${repo}/blobs/${blob}`, { method: "DELETE", headers: { Authorization: auth } });
}

async function blobStatus(url: string, repo: string, blob: string, auth: string): Promise<number> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${blob}`, { headers: { Authorization: auth } });
  await res.arrayBuffer();
  return res.status;
}

describe("immutable tags", () => {
  let server: AuthServer;
  let url: string;
  let pushers: Pusher[];

  before(async () => {
    server = await startAuthServer();
    url = server.url;
    await createUser(url, DEV.name, DEV.password);
    await addRule(url, `user:${DEV.name}`, "**", ["pull", "push", "delete"]);
    pushers = [
      { who: "an administrator", auth: basic(ADMIN) },
      { who: "a user with push and delete", auth: basic(DEV) },
    ];
  });
  after(() => server?.stop());

  test("a fresh registry starts with the default rule: version tags immutable everywhere", async () => {
    const res = await adminCall(url, "GET", "/immutable");
    assert.equal(res.status, 200);
    const { rules } = (await res.json()) as { rules: Record<string, unknown>[] };
    const rule = rules.find((r) => r.name === "semver");
    assert.deepEqual(
      { name: rule?.name, repositories: rule?.repositories, tags: rule?.tags, kind: rule?.kind },
      { name: "semver", repositories: "**", tags: "semver", kind: "semver" },
    );
  });

  for (const index of [0, 1]) {
    describe(`pushed by ${index === 0 ? "an administrator" : "a user with push and delete"}`, () => {
      let auth: string;
      let repo: string;
      let first: { body: Buffer; digest: string };
      let second: { body: Buffer; digest: string };
      const refusedPush = (tag: string) =>
        `tag ${tag} is immutable (rule 'semver' on '**'); push a new version instead`;

      before(async () => {
        auth = (pushers[index] as Pusher).auth;
        repo = uniqueRepo("imm");
        first = await freshManifest(url, repo, auth);
        second = await freshManifest(url, repo, auth);
        await expect201(await put(url, repo, "v1.2.0", first.body, auth), "first push of v1.2.0");
      });

      test("re-pushing the identical manifest to the tag succeeds (by tag and by digest with ?tag=)", async () => {
        await expect201(await put(url, repo, "v1.2.0", first.body, auth), "identical re-push");
        await expect201(
          await put(url, repo, first.digest, first.body, auth, "?tag=v1.2.0"),
          "identical ?tag=",
        );
        assert.equal(await tagDigest(url, repo, "v1.2.0", auth), first.digest);
      });

      test("PUT manifests/<tag> with another manifest is refused, and nothing is stored", async () => {
        const res = await put(url, repo, "v1.2.0", second.body, auth);
        await expectImmutable(res, {
          message: refusedPush("v1.2.0"),
          tag: "v1.2.0",
          rule: "semver",
          repository: repo,
          digest: first.digest,
        });
        assert.equal(await tagDigest(url, repo, "v1.2.0", auth), first.digest);
        // The refused manifest was not stored untagged either.
        assert.equal(await tagDigest(url, repo, second.digest, auth), undefined);
      });

      test("PUT manifests/<digest>?tag=<immutable tag> is refused, with every other tag of the request", async () => {
        const res = await put(url, repo, second.digest, second.body, auth, "?tag=v9.0.0&tag=v1.2.0");
        await expectImmutable(res, {
          message: refusedPush("v1.2.0"),
          tag: "v1.2.0",
          rule: "semver",
          repository: repo,
          digest: first.digest,
        });
        assert.equal(await tagDigest(url, repo, "v1.2.0", auth), first.digest);
        assert.equal(await tagDigest(url, repo, "v9.0.0", auth), undefined, "the request's other tag");
        assert.equal(await tagDigest(url, repo, second.digest, auth), undefined);
      });

      test("PUT manifests/<tag> with ?tag= naming an immutable tag is refused", async () => {
        const res = await put(url, repo, "scratch", second.body, auth, "?tag=v1.2.0");
        assert.equal(res.status, 403);
        assert.equal((await readErrors(res))[0]?.code, "DENIED");
        assert.equal(await tagDigest(url, repo, "scratch", auth), undefined);
      });

      test("a new version tag is always allowed, by tag and with ?tag=", async () => {
        await expect201(await put(url, repo, "v1.3.0", second.body, auth), "new tag");
        await expect201(await put(url, repo, second.digest, second.body, auth, "?tag=1.3.1"), "new ?tag=");
        assert.equal(await tagDigest(url, repo, "v1.3.0", auth), second.digest);
        assert.equal(await tagDigest(url, repo, "1.3.1", auth), second.digest);
      });

      test("tags that are not versions (latest, 1.2, main) move and go under the default rule", async () => {
        for (const tag of ["latest", "1.2", "main", "v1"]) {
          await expect201(await put(url, repo, tag, first.body, auth), `${tag} first`);
          await expect201(await put(url, repo, tag, second.body, auth), `${tag} moved`);
          assert.equal(await tagDigest(url, repo, tag, auth), second.digest, tag);
        }
        assert.equal((await del(url, repo, "main", auth)).status, 202);
        assert.equal(await tagDigest(url, repo, "main", auth), undefined);
      });

      test("DELETE manifests/<immutable tag> is refused and the tag stays", async () => {
        const res = await del(url, repo, "v1.2.0", auth);
        await expectImmutable(res, {
          message: "tag v1.2.0 is immutable (rule 'semver' on '**'); it cannot be deleted",
          tag: "v1.2.0",
          rule: "semver",
          repository: repo,
          digest: first.digest,
        });
        assert.equal(await tagDigest(url, repo, "v1.2.0", auth), first.digest);
        // A missing tag is still a 404, not a refusal.
        assert.equal((await del(url, repo, "v7.7.7", auth)).status, 404);
      });

      test("DELETE manifests/<digest> is refused while an immutable tag points at it", async () => {
        const res = await del(url, repo, first.digest, auth);
        await expectImmutable(res, {
          message:
            `manifest ${first.digest} is tagged v1.2.0, which is immutable (rule 'semver' on '**'); ` +
            "it cannot be deleted",
          tag: "v1.2.0",
          rule: "semver",
          repository: repo,
          digest: first.digest,
        });
        assert.equal(await tagDigest(url, repo, "v1.2.0", auth), first.digest);
        assert.equal(await tagDigest(url, repo, first.digest, auth), first.digest);
      });

      test("a manifest whose tags are all movable can be deleted by digest", async () => {
        const third = await freshManifest(url, repo, auth);
        await expect201(await put(url, repo, "edge", third.body, auth), "edge");
        assert.equal((await del(url, repo, third.digest, auth)).status, 202);
        assert.equal(await tagDigest(url, repo, "edge", auth), undefined);
      });
    });
  }

  test("a platform of a multi-platform immutable tag cannot be deleted by digest, nor through an index of indexes", async () => {
    const auth = basic(DEV);
    const repo = uniqueRepo("platforms");
    const amd = await imageWithLayer(url, repo, auth);
    const arm = await imageWithLayer(url, repo, auth);
    await expect201(await put(url, repo, amd.digest, amd.body, auth), "amd by digest");
    await expect201(await put(url, repo, arm.digest, arm.body, auth), "arm by digest");
    const index = await putIndex(url, repo, "v1.0.0", [amd, arm], auth);
    const partOf = (what: string, d: string, tag: string) =>
      `${what} ${d} is part of ${tag}, which is immutable (rule 'semver' on '**'); it cannot be deleted`;
    const res = await del(url, repo, arm.digest, auth);
    await expectImmutable(res, {
      message: partOf("manifest", arm.digest, "v1.0.0"),
      tag: "v1.0.0",
      rule: "semver",
      repository: repo,
      digest: arm.digest,
    });
    assert.equal(await tagDigest(url, repo, arm.digest, auth), arm.digest, "the platform is still served");

    // Two levels up: an untagged index inside an index tagged v2.0.0.
    const leaf = await imageWithLayer(url, repo, auth);
    await expect201(await put(url, repo, leaf.digest, leaf.body, auth), "leaf by digest");
    const inner = await putIndex(url, repo, undefined, [leaf], auth);
    const outer = await putIndex(url, repo, "v2.0.0", [inner], auth);
    for (const [what, d] of [
      ["manifest", leaf.digest],
      ["manifest", inner.digest],
      ["blob", leaf.layer],
    ] as const) {
      const refused = what === "blob" ? await delBlob(url, repo, d, auth) : await del(url, repo, d, auth);
      await expectImmutable(refused, {
        message: partOf(what, d, "v2.0.0"),
        tag: "v2.0.0",
        rule: "semver",
        repository: repo,
        digest: d,
      });
    }
    assert.equal(await tagDigest(url, repo, "v2.0.0", auth), outer.digest);
    assert.equal(await tagDigest(url, repo, leaf.digest, auth), leaf.digest);
    assert.equal(await blobStatus(url, repo, leaf.layer, auth), 200);
    assert.equal(await tagDigest(url, repo, "v1.0.0", auth), index.digest);
  });

  test("a blob of an immutable tag's manifest cannot be deleted; a blob of a movable tag's can", async () => {
    const auth = basic(DEV);
    const repo = uniqueRepo("blobs");
    const pinned = await imageWithLayer(url, repo, auth);
    await expect201(await put(url, repo, "v3.0.0", pinned.body, auth), "v3.0.0");
    const res = await delBlob(url, repo, pinned.layer, auth);
    await expectImmutable(res, {
      message:
        `blob ${pinned.layer} is part of v3.0.0, which is immutable (rule 'semver' on '**'); ` +
        "it cannot be deleted",
      tag: "v3.0.0",
      rule: "semver",
      repository: repo,
      digest: pinned.layer,
    });
    // The tag still serves every byte it promised.
    assert.equal(await blobStatus(url, repo, pinned.layer, auth), 200);

    const movable = await imageWithLayer(url, repo, auth);
    await expect201(await put(url, repo, "edge", movable.body, auth), "edge");
    assert.equal((await delBlob(url, repo, movable.layer, auth)).status, 202);
    assert.equal(await blobStatus(url, repo, movable.layer, auth), 404);
    // Nor is a platform of an index tagged only with movable tags protected.
    const child = await imageWithLayer(url, repo, auth);
    await expect201(await put(url, repo, child.digest, child.body, auth), "child");
    await putIndex(url, repo, "main", [child], auth);
    assert.equal((await del(url, repo, child.digest, auth)).status, 202);
  });

  test("glob and regex rules protect only the tags and repositories they match", async () => {
    const auth = basic(DEV);
    await addImmutable(url, { name: "releases", repositories: "team/**", tags: "release-*" });
    await addImmutable(url, { name: "nightly", repositories: "**", tags: "nightly-\\d{8}", kind: "regex" });
    const team = `team/${uniqueRepo("g")}`;
    const other = uniqueRepo("other");
    for (const repo of [team, other]) {
      const a = await freshManifest(url, repo, auth);
      const b = await freshManifest(url, repo, auth);
      for (const tag of ["release-1", "nightly-20260101", "nightly-2026", "release"]) {
        await expect201(await put(url, repo, tag, a.body, auth), `${repo}:${tag}`);
      }
      const moved = await put(url, repo, "release-1", b.body, auth);
      if (repo === team) {
        await expectImmutable(moved, {
          message: "tag release-1 is immutable (rule 'releases' on 'team/**'); push a new version instead",
          tag: "release-1",
          rule: "releases",
          repository: repo,
          digest: a.digest,
        });
      } else assert.equal(moved.status, 201, "release-* is immutable in team/** only");
      await expectImmutable(await put(url, repo, "nightly-20260101", b.body, auth), {
        message: "tag nightly-20260101 is immutable (rule 'nightly' on '**'); push a new version instead",
        tag: "nightly-20260101",
        rule: "nightly",
        repository: repo,
        digest: a.digest,
      });
      // The regex matches the whole tag; the glob too (`release` is not `release-*`).
      await expect201(await put(url, repo, "nightly-2026", b.body, auth), "nightly-2026 moves");
      await expect201(await put(url, repo, "release", b.body, auth), "release moves");
    }
    await removeImmutable(url, "releases");
    await removeImmutable(url, "nightly");
    const c = await freshManifest(url, team, auth);
    await expect201(await put(url, team, "release-1", c.body, auth), "release-1 after its rule is removed");
    assert.equal(await tagDigest(url, team, "release-1", auth), c.digest);
  });

  test("removing the default rule makes version tags movable and deletable", async () => {
    const auth = basic(DEV);
    const repo = uniqueRepo("removed");
    const a = await freshManifest(url, repo, auth);
    const b = await freshManifest(url, repo, auth);
    await expect201(await put(url, repo, "2.0.0", a.body, auth), "2.0.0");
    assert.equal((await put(url, repo, "2.0.0", b.body, auth)).status, 403);
    await removeImmutable(url, "semver");
    try {
      await expect201(await put(url, repo, "2.0.0", b.body, auth), "2.0.0 moved");
      assert.equal(await tagDigest(url, repo, "2.0.0", auth), b.digest);
      assert.equal((await del(url, repo, "2.0.0", auth)).status, 202);
    } finally {
      await addImmutable(url, { name: "semver", repositories: "**", tags: "semver" });
    }
    assert.equal((await put(url, repo, "2.0.1", a.body, auth)).status, 201);
    assert.equal((await put(url, repo, "2.0.1", b.body, auth)).status, 403, "the rule is back");
  });
});

describe("immutable tags across nodes and upgrades", () => {
  test("a rule added on one node is enforced by another node on the same database within a second", async () => {
    // Two nodes need a shared database: PostgreSQL whatever this run's backend.
    const backend = await backendEnv("postgres");
    const dataDir = await mkdtemp(join(tmpdir(), "wharf-imm-"));
    await backendOf(dataDir, backend);
    await bootstrapAdmin(dataDir);
    let a: TestServer | undefined;
    let b: TestServer | undefined;
    try {
      a = await startWharf({ dataDir, backend });
      b = await startWharf({ backend });
      const auth = basic(ADMIN);
      const repo = uniqueRepo("nodes");
      // Node b has the rules cached (a push checked them) before node a changes them.
      await expect201(
        await put(b.url, repo, "keep", (await freshManifest(b.url, repo, auth)).body, auth),
        "warm",
      );
      await addImmutable(a.url, { name: "keep", repositories: "**", tags: "keep" });
      // Poll b (the change counter is read every 250 ms): 20 tries 50 ms apart is a second.
      let refused = false;
      for (let attempt = 0; attempt < 20 && !refused; attempt++) {
        const next = await freshManifest(b.url, repo, auth);
        const res = await put(b.url, repo, "keep", next.body, auth);
        await res.arrayBuffer();
        refused = res.status === 403;
        if (!refused) await sleep(50);
      }
      assert.ok(refused, "node b enforced the rule added on node a within 20 tries (a second)");
    } finally {
      await b?.stop();
      await a?.stop();
    }
  });

  test("an upgraded registry that has repositories gets no default rule (fresh ones do)", async () => {
    const server = await startAuthServer();
    try {
      const auth = basic(ADMIN);
      const repo = uniqueRepo("upgrade");
      await expect201(
        await put(server.url, repo, "v1.0.0", (await freshManifest(server.url, repo, auth)).body, auth),
        "push",
      );
      await server.stop({ keepData: true });
      // Back to the schema before 0007, repositories in it: as an older Wharf left it (later ones undone first).
      await undoLifecycleMigrations(server.dataDir);
      for (const table of ["signature_keys", "signatures", "trust_policies", "trust_keys"]) {
        await queryMetadata(server.dataDir, `drop table ${table}`);
      }
      await queryMetadata(server.dataDir, "delete from change_counters where name = ?", ["trust"]);
      await queryMetadata(server.dataDir, "delete from kysely_migration where name = ?", ["0009_trust"]);
      await queryMetadata(server.dataDir, "alter table repositories drop column tags_version");
      await queryMetadata(server.dataDir, "delete from kysely_migration where name = ?", [
        "0008_tag_versions",
      ]);
      await queryMetadata(server.dataDir, "drop table immutable_rules");
      await queryMetadata(server.dataDir, "delete from change_counters where name = ?", ["immutable"]);
      await queryMetadata(server.dataDir, "delete from kysely_migration where name = ?", [
        "0007_immutable_tags",
      ]);
      const upgraded = await server.restart();
      try {
        const res = await adminCall(upgraded.url, "GET", "/immutable");
        assert.deepEqual(await res.json(), { rules: [] });
        // So the tag it had still moves, as it did before the upgrade.
        const next = await freshManifest(upgraded.url, repo, auth);
        await expect201(
          await put(upgraded.url, repo, "v1.0.0", next.body, auth),
          "v1.0.0 moves after upgrade",
        );
      } finally {
        await upgraded.stop();
      }
    } catch (err) {
      await server.stop().catch(() => undefined);
      throw err;
    }
  });
});

/** A metadata database on this run's backend, as a node opens it (migrated: the default rule in it). */
async function openTestDb(): Promise<{ db: Db; other: () => Promise<Db> }> {
  if (testBackend() === "embedded") {
    const db = await openSqlite(join(await mkdtemp(join(tmpdir(), "wharf-imm-db-")), "metadata.db"));
    return { db, other: () => Promise.resolve(db) };
  }
  const url = await createTestDatabase();
  return { db: await openPostgres(url, 2), other: () => openPostgres(url, 2) };
}

describe("deleting a manifest by digest, racing a tag", () => {
  test("an immutable tag committed after the early check is not deleted with the manifest", async () => {
    const { db } = await openTestDb();
    try {
      const repository = "race/app";
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, nonce: 1 }));
      const target = digest(body);
      await insertManifest(db, {
        repository,
        digest: target,
        mediaType: MANIFEST_TYPE,
        artifactType: null,
        subjectDigest: null,
        annotations: null,
        content: body,
        references: [],
      });
      await setTag(db, repository, "edge", target);
      let raced = 0;
      // The delete's early look finds only `edge`; then, before its DELETE runs, the manifest is tagged
      // v1.0.0. Another node cannot do that in between any more (SQLite has one writer; on PostgreSQL the
      // delete holds the repository's tag lock, so another node's tag write waits for it), so the tag is
      // written through the delete's own transaction: the same order of events.
      class Racing extends ImmutableTags {
        override async requireManifestRemovable(trx: Db, repo: string, dig: string): Promise<void> {
          await super.requireManifestRemovable(trx, repo, dig);
          raced++;
          await setTag(trx, repo, "v1.0.0", dig);
        }
      }
      const manifests = new ManifestService(db, new Racing(db), new QuotaService(db));
      await assert.rejects(manifests.delete(repository, target), (err: unknown) => {
        assert.ok(err instanceof ImmutableTagError, String(err));
        assert.equal(err.code, "DENIED");
        assert.match(err.message, /is tagged v1\.0\.0, which is immutable \(rule 'semver' on '\*\*'\)/);
        return true;
      });
      assert.equal(raced, 1, "the race was staged");
      // Rolled back whole: `edge` and the manifest are still there (the staged tag rolled back with it).
      assert.deepEqual(await tagsOf(db, repository, target, undefined, 10), ["edge"]);
      assert.ok(await findManifest(db, repository, target));
    } finally {
      await db.destroy();
    }
  });
});
