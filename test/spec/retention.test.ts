/**
 * Retention policies and pull statistics (issue 15): each keep rule, tags sharing a digest, immutable and
 * signed artifacts kept, preview equal to the result, a tag moved between preview and apply left alone,
 * pulls counted in batches and shown in listings, the admin API's errors and `wharf retention` end to end.
 */
import { QuotaService } from "../../src/registry/quotas/service.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN, adminCall, basic, startAuthServer, type AuthServer } from "../auth/support.js";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { pino } from "pino";
import { createTestDatabase, queryMetadata, testBackend } from "../helpers/backends.js";
import { openPostgres, openSqlite, type Db } from "../../src/metadata/database.js";
import { insertManifest } from "../../src/metadata/manifests.js";
import { lockedTagDigest, setTag } from "../../src/metadata/tags.js";
import { ManifestService } from "../../src/registry/manifests.js";
import { ImmutableTags } from "../../src/registry/immutable/service.js";
import { RetentionService } from "../../src/registry/retention/service.js";
import { PullStats } from "../../src/registry/pull-stats.js";
import { sql } from "kysely";
import { generateSigningKey } from "../../src/oci/signatures/index.js";
import {
  addTrustKey,
  call,
  copyManifest,
  pushImage,
  pushLegacySignature,
  sigTag,
  useAuthorization,
} from "./signature-support.js";
import { uniqueRepo, waitFor } from "./support.js";
import { backendOf } from "../helpers/backends.js";
import { startWharf } from "../helpers/server.js";
import { cliHome, type CliHome, type CliResult } from "../client/cli.js";

useAuthorization(basic(ADMIN));

interface Decision {
  tag: string;
  digest: string;
  decision: "keep" | "remove";
  reason: string;
}
interface Preview {
  repositories: { repository: string; policies: string[]; decisions: Decision[] }[];
  remove: number;
  keep: number;
}
interface Applied {
  removed: { repository: string; tag: string; digest: string; reason: string }[];
  left: { repository: string; tag: string; digest: string; why: string }[];
  removedCount: number;
}

async function api<T>(url: string, method: string, path: string, body?: unknown, status = 200): Promise<T> {
  const res = await adminCall(url, method, path, body);
  const text = await res.text();
  assert.equal(res.status, status, `${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

function decisionsOf(preview: Preview, repo: string): Map<string, Decision> {
  const found = preview.repositories.find((r) => r.repository === repo);
  return new Map((found?.decisions ?? []).map((d) => [d.tag, d]));
}

async function tagsOf(url: string, repo: string): Promise<string[]> {
  const res = await call(`${url}/v2/${repo}/tags/list`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { tags: string[] | null }).tags?.sort() ?? [];
}

async function manifestStatus(url: string, repo: string, reference: string): Promise<number> {
  const res = await call(`${url}/v2/${repo}/manifests/${reference}`, {
    headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  await res.arrayBuffer();
  return res.status;
}

/** Pushes fresh images under `tags`, one after the other (so push times follow the order given). */
async function pushTags(url: string, repo: string, tags: string[]): Promise<Map<string, string>> {
  const digests = new Map<string, string>();
  for (const tag of tags) digests.set(tag, (await pushImage(url, repo, tag)).digest);
  return digests;
}

function previewOf(url: string, repositories: string, rules: unknown): Promise<Preview> {
  return api<Preview>(url, "POST", "/retention/preview", { policy: { repositories, rules } });
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe("retention policies", () => {
  let server: AuthServer;
  let url: string;

  before(async () => {
    server = await startAuthServer();
    url = server.url;
    // A fresh registry makes version tags immutable (the default `semver` rule): kept whatever a policy
    // says. Without it here, so that version order decides.
    await api(url, "DELETE", "/immutable/semver", undefined, 204);
  });
  after(async () => {
    await server.stop();
  });

  test("keep the N most recent by push time: preview equals what apply removes", async () => {
    const repo = uniqueRepo("ret-last");
    const digests = await pushTags(url, repo, ["t1", "t2", "t3", "t4"]);
    await api(
      url,
      "POST",
      "/retention",
      { name: "last-two", repositories: repo, rules: { keepLast: { count: 2, by: "pushed" } } },
      201,
    );
    const preview = await api<Preview>(url, "POST", "/retention/preview", { name: "last-two" });
    const decided = decisionsOf(preview, repo);
    assert.deepEqual(
      [...decided.values()]
        .filter((d) => d.decision === "remove")
        .map((d) => d.tag)
        .sort(),
      ["t1", "t2"],
    );
    assert.match(decided.get("t4")!.reason, /among the 2 most recent by push time \(#1\)/);
    assert.equal(decided.get("t1")!.digest, digests.get("t1"));

    const applied = await api<Applied>(url, "POST", "/retention/apply", { name: "last-two" });
    assert.deepEqual(
      applied.removed.map((r) => `${r.tag}@${r.digest}`).sort(),
      [...decided.values()]
        .filter((d) => d.decision === "remove")
        .map((d) => `${d.tag}@${d.digest}`)
        .sort(),
    );
    assert.deepEqual(await tagsOf(url, repo), ["t3", "t4"]);
    // The untagged manifests stay (garbage collection's to take): by digest they are still served.
    assert.equal(await manifestStatus(url, repo, digests.get("t1")!), 200);
    // Applying again removes nothing more.
    assert.equal((await api<Applied>(url, "POST", "/retention/apply", { name: "last-two" })).removedCount, 0);

    const audit = await api<{
      events: { action: string; actor: string; detail: { removedCount: number; removed: string[] } }[];
    }>(url, "GET", "/audit?action=retention.apply");
    const event = audit.events.find((e) => e.detail.removedCount === 2);
    assert.ok(event, "retention.apply audited with what it removed");
    assert.equal(event.actor, ADMIN.name);
    assert.ok(event.detail.removed.includes(`${repo}:t1@${digests.get("t1")}`));
    await api(url, "DELETE", "/retention/last-two", undefined, 204);
  });

  test("keep the N highest versions: version order, not push order; non-versions not counted", async () => {
    const repo = uniqueRepo("ret-version");
    await pushTags(url, repo, ["1.10.0", "v1.2.0", "1.9.0", "latest", "2.0.0-rc.1"]);
    const decided = decisionsOf(await previewOf(url, repo, { keepLast: { count: 2, by: "version" } }), repo);
    const kept = [...decided.values()]
      .filter((d) => d.decision === "keep")
      .map((d) => d.tag)
      .sort();
    // 2.0.0-rc.1 > 1.10.0 > 1.9.0 > 1.2.0 (a pre-release of 2.0.0 is above every 1.x).
    assert.deepEqual(kept, ["1.10.0", "2.0.0-rc.1"]);
    assert.equal(decided.get("latest")!.decision, "remove");
    assert.match(decided.get("1.10.0")!.reason, /most recent by version \(#2\)/);
  });

  test("keep tags matching globs and a regex", async () => {
    const repo = uniqueRepo("ret-patterns");
    await pushTags(url, repo, ["release-1", "stable", "dev-1", "nightly-20261201", "nightly-x"]);
    const decided = decisionsOf(
      await previewOf(url, repo, { keepTags: ["release-*", "stable"], keepRegex: "nightly-[0-9]{8}" }),
      repo,
    );
    const removed = [...decided.values()]
      .filter((d) => d.decision === "remove")
      .map((d) => d.tag)
      .sort();
    assert.deepEqual(removed, ["dev-1", "nightly-x"]);
    assert.match(decided.get("nightly-20261201")!.reason, /keepRegex/);
    assert.match(decided.get("stable")!.reason, /keepTags/);
  });

  test("keep anything pushed or pulled within a period; pulls counted and listed", async () => {
    const repo = uniqueRepo("ret-within");
    const digests = await pushTags(url, repo, ["old", "old-pulled", "fresh"]);
    // Pushed two days ago, as far as the database knows.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    await queryMetadata(server.dataDir, "update tags set updated_at = ? where repository = ? and name <> ?", [
      twoDaysAgo,
      repo,
      "fresh",
    ]);
    // Three pulls by tag and two by digest of one manifest; HEADs are not pulls.
    const pulled = digests.get("old-pulled")!;
    for (const reference of ["old-pulled", "old-pulled", "old-pulled", pulled, pulled]) {
      assert.equal(await manifestStatus(url, repo, reference), 200);
    }
    for (let i = 0; i < 2; i++) {
      const head = await call(`${url}/v2/${repo}/manifests/old-pulled`, { method: "HEAD" });
      assert.equal(head.status, 200);
    }
    let listed: { digest: string; pullCount: number; lastPulled: string | null }[] = [];
    await waitFor(
      async () => {
        const res = await call(`${url}/api/v1/repositories/${repo}/artifacts`);
        listed = ((await res.json()) as { artifacts: typeof listed }).artifacts;
        return listed.some((a) => a.digest === pulled && a.pullCount > 0);
      },
      15_000,
      "pull statistics flushed",
    );
    const entry = listed.find((a) => a.digest === pulled)!;
    assert.equal(entry.pullCount, 5);
    assert.ok(entry.lastPulled && Date.parse(entry.lastPulled) > Date.parse(twoDaysAgo));
    const never = listed.find((a) => a.digest === digests.get("old"))!;
    assert.equal(never.pullCount, 0);
    assert.equal(never.lastPulled, null);
    const detail = (await (await call(`${url}/api/v1/artifacts/${repo}:old-pulled`)).json()) as {
      pullCount: number;
    };
    assert.equal(detail.pullCount, 5);

    const decided = decisionsOf(await previewOf(url, repo, { keepWithin: "1d" }), repo);
    assert.equal(decided.get("old")!.decision, "remove");
    assert.match(decided.get("old-pulled")!.reason, /pulled within 1d/);
    assert.match(decided.get("fresh")!.reason, /pushed within 1d/);
  });

  test("tags sharing a digest are judged each: the kept tag still serves the manifest", async () => {
    const repo = uniqueRepo("ret-shared");
    const image = await pushImage(url, repo, "keep-me");
    await copyManifest(url, repo, "drop-me", image.body);
    await pushImage(url, repo, "other");
    await api(
      url,
      "POST",
      "/retention",
      { name: "shared", repositories: repo, rules: { keepTags: ["keep-*"] } },
      201,
    );
    const applied = await api<Applied>(url, "POST", "/retention/apply", { name: "shared" });
    assert.deepEqual(applied.removed.map((r) => r.tag).sort(), ["drop-me", "other"]);
    assert.deepEqual(await tagsOf(url, repo), ["keep-me"]);
    assert.equal(await manifestStatus(url, repo, "keep-me"), 200);
    assert.equal(await manifestStatus(url, repo, image.digest), 200);
    assert.equal(await manifestStatus(url, repo, "drop-me"), 404);
    await api(url, "DELETE", "/retention/shared", undefined, 204);
  });

  test("immutable tags are always kept; signed artifacts unless removeSigned; signature tags never", async () => {
    const repo = uniqueRepo("ret-protected");
    const key = generateSigningKey();
    await addTrustKey(url, `ret-key-${Date.now()}`, key);
    await api(
      url,
      "POST",
      "/immutable",
      { name: `ret-imm-${Date.now()}`, repositories: repo, tags: "frozen" },
      201,
    );
    const digests = await pushTags(url, repo, ["frozen", "signed", "plain", "newest"]);
    await pushLegacySignature(url, repo, digests.get("signed")!, key);
    const sig = sigTag(digests.get("signed")!);

    const kept = decisionsOf(await previewOf(url, repo, { keepTags: ["newest"] }), repo);
    assert.equal(kept.get("plain")!.decision, "remove");
    assert.match(kept.get("frozen")!.reason, /^immutable/);
    assert.equal(kept.get("signed")!.decision, "keep");
    assert.match(kept.get("signed")!.reason, /signed/);
    assert.equal(kept.get(sig)!.decision, "keep");

    const bySigned = decisionsOf(
      await previewOf(url, repo, { keepTags: ["newest"], removeSigned: true }),
      repo,
    );
    assert.equal(bySigned.get("signed")!.decision, "remove");
    assert.equal(bySigned.get("frozen")!.decision, "keep");
    assert.equal(bySigned.get(sig)!.decision, "keep");

    await api(
      url,
      "POST",
      "/retention",
      { name: "protected", repositories: repo, rules: { keepTags: ["newest"], removeSigned: true } },
      201,
    );
    const applied = await api<Applied>(url, "POST", "/retention/apply", { name: "protected" });
    assert.deepEqual(applied.removed.map((r) => r.tag).sort(), ["plain", "signed"]);
    assert.deepEqual(await tagsOf(url, repo), [sig, "frozen", "newest"].sort());
    await api(url, "DELETE", "/retention/protected", undefined, 204);
  });

  test("several policies: a tag is kept if any keeps it", async () => {
    const repo = uniqueRepo("ret-many");
    await pushTags(url, repo, ["a", "b", "c"]);
    await api(
      url,
      "POST",
      "/retention",
      { name: "keep-a", repositories: repo, rules: { keepTags: ["a"] } },
      201,
    );
    await api(
      url,
      "POST",
      "/retention",
      { name: "keep-b", repositories: `${repo.split("/")[0]}/**`, rules: { keepTags: ["b"] } },
      201,
    );
    const decided = decisionsOf(await api<Preview>(url, "POST", "/retention/preview", {}), repo);
    assert.match(decided.get("a")!.reason, /policy keep-a/);
    assert.match(decided.get("b")!.reason, /policy keep-b/);
    assert.equal(decided.get("c")!.decision, "remove");
    assert.match(decided.get("c")!.reason, /policy keep-a: .*; policy keep-b: /);
    await api(url, "DELETE", "/retention/keep-a", undefined, 204);
    await api(url, "DELETE", "/retention/keep-b", undefined, 204);
  });

  test("a tag moved after the preview is left alone by applying that preview", async () => {
    const repo = uniqueRepo("ret-moved");
    const digests = await pushTags(url, repo, ["keep-1", "moving", "going"]);
    await api(
      url,
      "POST",
      "/retention",
      { name: "moved", repositories: repo, rules: { keepTags: ["keep-*"] } },
      201,
    );
    const preview = await api<Preview>(url, "POST", "/retention/preview", { name: "moved" });
    const plan = [...decisionsOf(preview, repo).values()]
      .filter((d) => d.decision === "remove")
      .map((d) => ({ repository: repo, tag: d.tag, digest: d.digest }));
    assert.deepEqual(plan.map((p) => p.tag).sort(), ["going", "moving"]);
    // Someone pushes `moving` again, elsewhere, between the preview and the apply.
    const moved = await pushImage(url, repo, "moving");
    assert.notEqual(moved.digest, digests.get("moving"));
    const applied = await api<Applied>(url, "POST", "/retention/apply", { name: "moved", plan });
    assert.deepEqual(
      applied.removed.map((r) => r.tag),
      ["going"],
    );
    assert.deepEqual(
      applied.left.map((l) => `${l.tag}@${l.digest}`),
      [`moving@${moved.digest}`],
    );
    assert.deepEqual(await tagsOf(url, repo), ["keep-1", "moving"]);
    assert.equal(await manifestStatus(url, repo, "moving"), 200);
    await api(url, "DELETE", "/retention/moved", undefined, 204);
  });

  test("bad policies are refused in the OCI error format; a missing policy is 404", async () => {
    const cases: [unknown, RegExp][] = [
      [{ name: "x", repositories: "a/**", rules: {} }, /at least one keep rule/],
      [{ name: "x", repositories: "a/**", rules: { keepWithin: "30x" } }, /invalid period/],
      [{ name: "x", repositories: "a/**", rules: { keepLast: { count: 0 } } }, /keepLast.count/],
      [
        { name: "x", repositories: "a/**", rules: { keepLast: { count: 2, by: "size" } } },
        /pushed or version/,
      ],
      [{ name: "x", repositories: "a/**", rules: { keepRegex: "(a" } }, /keepRegex/],
      [
        { name: "x", repositories: "a/**", rules: { keepTags: ["v1"], removeImmutable: true } },
        /immutable tags are always kept/,
      ],
      [{ name: "Bad Name", repositories: "a/**", rules: { keepTags: ["x"] } }, /invalid policy name/],
    ];
    for (const [body, message] of cases) {
      const res = await adminCall(url, "POST", "/retention", body);
      assert.equal(res.status, 400);
      const { errors } = (await res.json()) as { errors: { code: string; message: string }[] };
      assert.equal(errors[0]?.code, "INVALID_REQUEST");
      assert.match(errors[0]!.message, message);
    }
    assert.equal((await adminCall(url, "DELETE", "/retention/nothing-here")).status, 404);
    assert.equal((await adminCall(url, "POST", "/retention/apply", { name: "nothing-here" })).status, 404);
    const listed = await api<{ policies: unknown[] }>(url, "GET", "/retention");
    assert.ok(Array.isArray(listed.policies));
  });
});

describe("wharf retention", () => {
  let server: AuthServer;
  let home: CliHome;

  before(async () => {
    server = await startAuthServer();
    home = await cliHome();
    ok(
      await home.run(["login", server.server.host, "-u", ADMIN.name, "--password-stdin"], {
        input: ADMIN.password,
      }),
    );
  });
  after(async () => {
    await home.cleanup();
    await server.stop();
  });

  test("add, ls, preview, apply and rm through the admin API; bad flags exit 2", async () => {
    const url = server.url;
    const repo = uniqueRepo("ret-cli");
    await pushTags(url, repo, ["r1", "release-1", "r2", "r3"]);
    const target = ["--registry", server.server.host];
    ok(
      await home.run([
        "retention",
        "add",
        "cli",
        repo,
        "--keep-last",
        "1",
        "--keep-tags",
        "release-*",
        ...target,
      ]),
    );
    const listed = JSON.parse(ok(await home.run(["retention", "ls", "--json", ...target])).stdout) as {
      name: string;
      rules: unknown;
    }[];
    assert.deepEqual(listed.find((p) => p.name === "cli")?.rules, {
      keepLast: { count: 1, by: "pushed" },
      keepTags: ["release-*"],
    });
    const preview = ok(await home.run(["retention", "preview", "cli", ...target]));
    assert.match(preview.stdout, /REPOSITORY\s+TAG\s+DIGEST\s+DECISION\s+REASON/);
    assert.match(preview.stdout, new RegExp(`${repo}\\s+r1\\s+sha256:[0-9a-f]{12}\\s+remove`));
    assert.match(preview.stderr, /2 tag\(s\) would be removed, 2 kept/);
    const applied = JSON.parse(
      ok(await home.run(["retention", "apply", "cli", "--json", ...target])).stdout,
    ) as Applied;
    assert.deepEqual(applied.removed.map((r) => r.tag).sort(), ["r1", "r2"]);
    assert.deepEqual(await tagsOf(url, repo), ["r3", "release-1"]);

    const bad = await home.run(["retention", "add", "bad", repo, "--keep-within", "30x", ...target]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /invalid period/);
    const none = await home.run(["retention", "add", "none", repo, ...target]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /at least one keep rule/);

    // `wharf ls` shows the pulls once the counts are flushed.
    assert.equal(await manifestStatus(url, repo, "r3"), 200);
    await waitFor(
      async () => {
        const res = await call(`${url}/api/v1/artifacts/${repo}:r3`);
        return ((await res.json()) as { pullCount: number }).pullCount === 1;
      },
      15_000,
      "pull statistics flushed",
    );
    const ls = ok(await home.run(["ls", `${server.server.host}/ret-cli`]));
    assert.match(ls.stdout, /^KIND\s+REFERENCE\s+TITLE\s+VERSION\s+SIZE\s+PUSHED\s+PULLS$/m);
    assert.match(ls.stdout, new RegExp(`${repo}:r3\\s.*\\d\\d:\\d\\d\\s+1$`, "m"));

    ok(await home.run(["retention", "rm", "cli", ...target]));
    const gone = await home.run(["retention", "rm", "cli", ...target]);
    assert.equal(gone.code, 3, gone.stderr);
  });
});

describe("wharf retention on a registry without accounts", () => {
  test("--data-dir adds, previews and applies straight in the database; audited as local", async () => {
    const server = await startWharf();
    const home = await cliHome();
    useAuthorization(undefined);
    try {
      const repo = uniqueRepo("ret-local");
      await pushTags(server.url, repo, ["a1", "a2", "a3"]);
      const local = async (args: string[]) =>
        ok(await home.run([...args, "--data-dir", server.dataDir], { env: await backendOf(server.dataDir) }));
      await local(["retention", "add", "local", repo, "--keep-last", "1"]);
      const preview = JSON.parse(
        (await local(["retention", "preview", "local", "--json"])).stdout,
      ) as Preview;
      assert.equal(preview.remove, 2);
      const applied = JSON.parse((await local(["retention", "apply", "--json"])).stdout) as Applied;
      assert.deepEqual(applied.removed.map((r) => r.tag).sort(), ["a1", "a2"]);
      assert.deepEqual(await tagsOf(server.url, repo), ["a3"]);
      const events = await queryMetadata<{ actor: string; action: string }>(
        server.dataDir,
        "select actor, action from audit_events where action like 'retention.%' order by seq",
      );
      assert.deepEqual(
        events.map((e) => `${e.actor} ${e.action}`),
        ["local retention.add", "local retention.apply"],
      );
    } finally {
      useAuthorization(basic(ADMIN));
      await home.cleanup();
      await server.stop();
    }
  });
});

describe("retention --data-dir beside a server keeping a managed index", () => {
  test("tags removed straight in the database mark the managed index out of date", async () => {
    const env = { WHARF_INDEX_NAMESPACES: "retidx", WHARF_INDEX_DELAY: "100ms" };
    const server = await startWharf({ env });
    const home = await cliHome();
    useAuthorization(undefined);
    try {
      const repo = "retidx/app";
      await pushTags(server.url, repo, ["a1", "a2", "a3"]);
      const indexText = async () => {
        const res = await fetch(`${server.url}/v2/retidx/index/manifests/latest`, {
          headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
        });
        if (res.status !== 200) return "";
        const manifest = (await res.json()) as { layers: { digest: string }[] };
        const layer = manifest.layers[0]?.digest ?? "";
        return (await fetch(`${server.url}/v2/retidx/index/blobs/${layer}`)).text();
      };
      await waitFor(async () => (await indexText()).includes('"a1"'), 20_000, "the index listing a1");
      const cliEnv = { ...(await backendOf(server.dataDir)), ...env };
      const local = async (args: string[]) =>
        ok(await home.run([...args, "--data-dir", server.dataDir], { env: cliEnv }));
      await local(["retention", "add", "idx", repo, "--keep-last", "1"]);
      await local(["retention", "apply"]);
      assert.deepEqual(await tagsOf(server.url, repo), ["a3"]);
      // Marked in the removal's transaction; the server rebuilds marked indexes on its next sweep (30 s).
      const marks = await queryMetadata<{ namespace: string }>(
        server.dataDir,
        "select namespace from index_marks where namespace = ?",
        ["retidx"],
      );
      assert.equal(marks.length, 1, "the managed index is marked out of date");
    } finally {
      useAuthorization(basic(ADMIN));
      await home.cleanup();
      await server.stop();
    }
  });
});

/** A migrated metadata database on this run's backend, as a node opens it. */
async function openTestDb(): Promise<Db> {
  if (testBackend() === "embedded") {
    return openSqlite(join(await mkdtemp(join(tmpdir(), "wharf-ret-db-")), "metadata.db"));
  }
  return openPostgres(await createTestDatabase(), 2);
}

describe("applying retention, racing a tag move", () => {
  test("a tag moved after it was judged, before its removal, is left where it now points", async () => {
    const db = await openTestDb();
    try {
      const repository = "race/app";
      const digests: string[] = [];
      for (const nonce of [1, 2]) {
        const body = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            nonce,
          }),
        );
        const d = `sha256:${createHash("sha256").update(body).digest("hex")}`;
        digests.push(d);
        await insertManifest(db, {
          repository,
          digest: d,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          artifactType: null,
          subjectDigest: null,
          annotations: null,
          content: body,
          references: [],
        });
      }
      const [first, second] = digests as [string, string];
      await setTag(db, repository, "keep", first);
      await setTag(db, repository, "moving", first);
      let raced = 0;
      // Judged at `first`; then, inside the removal's transaction before its re-check, `moving` is
      // pushed elsewhere (another node cannot slip in later: the removal holds the repository's tag
      // lock on PostgreSQL, and SQLite has one writer), so the move is written through that transaction.
      class Racing extends ImmutableTags {
        override async requireTagRemovable(trx: Db, repo: string, tag: string): Promise<void> {
          await super.requireTagRemovable(trx, repo, tag);
          if (tag !== "moving" || raced++ > 0) return;
          await setTag(trx, repo, tag, second);
        }
      }
      const immutable = new Racing(db);
      const retention = new RetentionService(db, pino({ level: "silent" }), {
        immutable,
        manifests: new ManifestService(db, immutable, new QuotaService(db)),
        managesIndex: () => false,
      });
      const result = await retention.preview({
        policy: { name: "race", repositories: repository, rules: { keepTags: ["keep"] } },
      });
      assert.deepEqual(
        result.repositories[0]?.decisions
          .filter((d) => d.decision === "remove")
          .map((d) => `${d.tag}@${d.digest}`),
        [`moving@${first}`],
      );
      await retention.add({ name: "race", repositories: repository, rules: { keepTags: ["keep"] } }, "test");
      const applied = await retention.apply({ name: "race" });
      assert.equal(raced, 1, "the race was staged");
      assert.equal(applied.removedCount, 0);
      assert.deepEqual(applied.left, [{ repository, tag: "moving", digest: first, why: "moved" }]);
      assert.equal(await lockedTagDigest(db, repository, "moving"), second);
      assert.equal(await lockedTagDigest(db, repository, "keep"), first);

      // The scheduled run (the collector calls applyAll("schedule")): applied and audited as `schedule`.
      await setTag(db, repository, "stale", first);
      await retention.applyAll("schedule");
      assert.equal(await lockedTagDigest(db, repository, "stale"), undefined);
      const events = await db
        .selectFrom("audit_events")
        .select(["actor", "action", "detail"])
        .where("action", "=", "retention.apply")
        .execute();
      assert.equal(events.length, 1);
      assert.equal(events[0]?.actor, "schedule");
      // `moving`, judged again where it now points, is not kept by the policy either.
      assert.deepEqual(
        (JSON.parse(events[0]?.detail ?? "{}") as { removed: string[] }).removed.sort(),
        [`${repository}:moving@${second}`, `${repository}:stale@${first}`].sort(),
      );
    } finally {
      await db.destroy();
    }
  });
});

describe("pull statistics", () => {
  test("a flush that fails keeps its counts for the next one, counted once", async () => {
    const db = await openTestDb();
    try {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, nonce: "pulls" }));
      const d = `sha256:${createHash("sha256").update(body).digest("hex")}`;
      await insertManifest(db, {
        repository: "pulls/app",
        digest: d,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: null,
        subjectDigest: null,
        annotations: null,
        content: body,
        references: [],
      });
      const pulls = new PullStats(db);
      for (let i = 0; i < 3; i++) pulls.record("pulls/app", d);
      // The database refuses the write (here: the table is not there for a moment).
      await sql`alter table manifests rename to manifests_away`.execute(db);
      await pulls.flush();
      await sql`alter table manifests_away rename to manifests`.execute(db);
      pulls.record("pulls/app", d);
      await pulls.stop();
      const row = await db
        .selectFrom("manifests")
        .select(["pull_count", "last_pulled_at"])
        .where("digest", "=", d)
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.pull_count), 4);
      assert.ok(row.last_pulled_at);
    } finally {
      await db.destroy();
    }
  });
});
