/**
 * The managed index artifact kept by `wharf serve` (issue 11): `<namespace>/index:latest` for the
 * namespaces in `index.namespaces`, rebuilt from the metadata after pushes, untags and deletes,
 * coalesced, marked in the database so a restart finishes what a stop left.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startWharf, type TestServer } from "../helpers/server.js";
import { backendOf, queryMetadata } from "../helpers/backends.js";
import { run } from "../helpers/clients.js";
import { skopeo } from "../interop/support.js";
import { cliHome, type CliHome } from "../client/cli.js";
import { makeWorkspace } from "../client/workspace.js";
import { parseIndexDocument, type IndexDocument } from "../../src/oci/index-artifact/index.js";
import { WHARF_INDEX_MEDIA_TYPE } from "../../src/oci/kinds/index.js";
import pino from "pino";
import { openPostgres, openSqlite } from "../../src/metadata/database.js";
import { FsBlobStore } from "../../src/storage/fs-blob-store.js";
import { Registry } from "../../src/registry/registry.js";
import { OCI_MANIFEST, pushImage, pushShaped } from "./support.js";
import { Client } from "../../src/client/index.js";
import { fromIndex } from "../../src/client/discovery/index-source.js";

const repoRoot = join(import.meta.dirname, "..", "..");

/** `<namespace>/index:latest` read with plain /v2 GETs: the manifest, then its one layer. */
async function readIndex(url: string, namespace: string): Promise<IndexDocument | null> {
  const res = await fetch(`${url}/v2/${namespace}/index/manifests/latest`, {
    headers: { accept: OCI_MANIFEST },
  });
  if (res.status === 404) return null;
  assert.equal(res.status, 200);
  const manifest = (await res.json()) as { artifactType: string; layers: { digest: string }[] };
  // Something else at the tag (see the test of a foreign artifact there) is not an index yet.
  if (manifest.artifactType !== WHARF_INDEX_MEDIA_TYPE) return null;
  const layer = manifest.layers[0];
  assert.ok(layer);
  const blob = await fetch(`${url}/v2/${namespace}/index/blobs/${layer.digest}`);
  assert.equal(blob.status, 200);
  return parseIndexDocument(Buffer.from(await blob.arrayBuffer()));
}

/** Polls the index until `ok` holds: at most `attempts` reads, 100 ms apart (bounded by count). */
async function indexUntil(
  url: string,
  namespace: string,
  ok: (doc: IndexDocument) => boolean,
  attempts = 200,
): Promise<IndexDocument> {
  let doc: IndexDocument | null = null;
  for (let i = 0; i < attempts; i++) {
    doc = await readIndex(url, namespace);
    if (doc && ok(doc)) return doc;
    await sleep(100);
  }
  assert.fail(`${namespace}/index:latest never matched; last read: ${JSON.stringify(doc, null, 1)}`);
}

const repos = (doc: IndexDocument) => doc.entries.map((e) => e.repository).sort();
/** Index writes the server logged for a namespace so far (it logs one line per manifest it writes). */
const writes = (wharf: TestServer, namespace: string) =>
  wharf
    .output()
    .split("\n")
    .filter((l) => l.includes('"msg":"managed index written"') && l.includes(`"namespace":"${namespace}"`))
    .length;

describe("wharf serve keeps <namespace>/index:latest current", { timeout: 300_000 }, () => {
  let wharf: TestServer;
  let cli: CliHome;

  before(async () => {
    wharf = await startWharf({
      env: { WHARF_INDEX_NAMESPACES: "team, charts", WHARF_INDEX_DELAY: "500ms", WHARF_LOG_LEVEL: "info" },
    });
    cli = await cliHome();
  });
  after(async () => {
    await cli?.cleanup();
    await wharf?.stop();
  });

  test("pushes below the namespace are listed (accessories and other namespaces are not); skopeo reads it", async () => {
    const app = await pushImage(wharf.url, "team/app", "v1", { "org.opencontainers.image.title": "App" });
    const lib = await pushImage(wharf.url, "team/sub/lib", "2.0");
    // A cosign signature by the tag convention: an accessory of team/app, not an artifact of its own.
    await pushShaped(wharf.url, "team/app", `sha256-${app.digest.slice(7)}.sig`, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 0 },
      layers: [{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", size: 250 }],
    });
    await pushImage(wharf.url, "other/x", "v1");
    await pushImage(wharf.url, "teamwork/y", "v1"); // a prefix of the name, not below the namespace

    const doc = await indexUntil(wharf.url, "team", (d) => d.entries.length >= 2);
    assert.equal(doc.namespace, "team");
    assert.deepEqual(repos(doc), ["team/app", "team/sub/lib"]);
    const entry = doc.entries.find((e) => e.repository === "team/app");
    assert.equal(entry?.digest, app.digest);
    assert.deepEqual(entry?.tags, ["v1"]);
    assert.equal(entry?.kind, "oci-image");
    assert.equal(entry?.title, "App");
    assert.equal(doc.entries.find((e) => e.repository === "team/sub/lib")?.digest, lib.digest);

    // A namespace not named in index.namespaces gets no index.
    const other = await fetch(`${wharf.url}/v2/other/index/manifests/latest`);
    assert.equal(other.status, 404);
    const teamwork = await fetch(`${wharf.url}/v2/teamwork/index/manifests/latest`);
    assert.equal(teamwork.status, 404);
    // A managed namespace with nothing in it yet has an empty index.
    assert.deepEqual((await readIndex(wharf.url, "charts"))?.entries, []);

    const skopeoRun = await skopeo(join(cli.dir, "skopeo"));
    const raw = await skopeoRun([
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${wharf.host}/team/index:latest`,
    ]);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal((JSON.parse(raw.stdout) as { artifactType: string }).artifactType, WHARF_INDEX_MEDIA_TYPE);
  });

  test("untag and delete take the artifact's tag and entry out; the repository keeps one index version", async () => {
    const web = await pushImage(wharf.url, "team/web", "v1");
    const tagged = await fetch(`${wharf.url}/v2/team/web/manifests/stable`, {
      method: "PUT",
      headers: { "content-type": OCI_MANIFEST },
      body: new Uint8Array(web.body),
    });
    assert.equal(tagged.status, 201);
    await indexUntil(wharf.url, "team", (d) =>
      d.entries.some((e) => e.repository === "team/web" && e.tags.join() === "stable,v1"),
    );
    const untag = await fetch(`${wharf.url}/v2/team/web/manifests/v1`, { method: "DELETE" });
    assert.equal(untag.status, 202);
    await indexUntil(wharf.url, "team", (d) =>
      d.entries.some((e) => e.repository === "team/web" && e.tags.join() === "stable"),
    );
    const del = await fetch(`${wharf.url}/v2/team/web/manifests/${web.digest}`, { method: "DELETE" });
    assert.equal(del.status, 202);
    const doc = await indexUntil(
      wharf.url,
      "team",
      (d) => !d.entries.some((e) => e.repository === "team/web"),
    );
    assert.deepEqual(repos(doc), ["team/app", "team/sub/lib"]);

    // Each rebuild replaced the last one: no pile of old index manifests.
    const listed = await fetch(`${wharf.url}/api/v1/repositories/team/index/artifacts`);
    const { artifacts } = (await listed.json()) as { artifacts: { tags: string[] }[] };
    assert.equal(artifacts.length, 1, JSON.stringify(artifacts));
    assert.deepEqual(artifacts[0]?.tags, ["latest"]);
  });

  test("a burst of 20 pushes writes the index far fewer than 20 times and ends exactly right", async () => {
    const before = writes(wharf, "team");
    const names = Array.from({ length: 20 }, (_, i) => `team/burst${String(i).padStart(2, "0")}`);
    const pushed = await Promise.all(names.map((name) => pushImage(wharf.url, name, "v1")));
    const doc = await indexUntil(wharf.url, "team", (d) => names.every((n) => repos(d).includes(n)));
    // Let any rebuild still scheduled run (a quiet period of a few delays), then count.
    await sleep(2000);
    const final = await readIndex(wharf.url, "team");
    assert.deepEqual(final, doc);
    assert.deepEqual(repos(doc), ["team/app", ...names, "team/sub/lib"].sort());
    for (const [i, name] of names.entries()) {
      assert.equal(doc.entries.find((e) => e.repository === name)?.digest, pushed[i]?.digest);
    }
    const count = writes(wharf, "team") - before;
    assert.ok(count >= 1 && count <= 4, `${count} index writes for 20 pushes`);
  });

  test("the index the server keeps is what the index source lists, as ls does on registries without the API", async () => {
    const client = new Client();
    try {
      const result = await fromIndex(client.registry(wharf.host), {
        registry: wharf.host,
        namespace: "team",
      });
      assert.ok(result, "no index artifact was found");
      assert.equal(result.source, "index");
      const names = result.artifacts.map((a) => a.repository);
      for (const name of ["team/app", "team/sub/lib", "team/burst07"]) assert.ok(names.includes(name), name);
      assert.ok(!names.includes("team/web"));
      assert.equal(result.artifacts.find((a) => a.repository === "team/app")?.kind, "oci-image");
    } finally {
      client.close();
    }
    // On Wharf itself ls asks the discovery API first, and it lists the same artifacts.
    const listed = await cli.run(["ls", `${wharf.host}/team`, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const api = JSON.parse(listed.stdout) as { source: string; artifacts: { repository: string }[] };
    assert.equal(api.source, "wharf-api");
    for (const name of ["team/app", "team/sub/lib", "team/burst07"]) {
      assert.ok(
        api.artifacts.some((a) => a.repository === name),
        name,
      );
    }
  });

  test("a client's push --index to a managed namespace does not fight the server: the rebuild has everything", async () => {
    const ws = await makeWorkspace(cli.dir);
    const pushed = await cli.run(["push", `${wharf.host}/team/deploy:v1`, ws.manifests, "--index"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const doc = await indexUntil(wharf.url, "team", (d) => repos(d).includes("team/deploy"));
    assert.ok(repos(doc).includes("team/burst19") && repos(doc).includes("team/app"));
  });

  test("an artifact someone pushed to index:latest of a managed namespace is kept by digest; the tag is the server's", async () => {
    const foreign = await pushImage(wharf.url, "team/index", "latest");
    await pushImage(wharf.url, "team/trigger", "v1");
    const doc = await indexUntil(wharf.url, "team", (d) => repos(d).includes("team/trigger"));
    assert.ok(repos(doc).includes("team/app"));
    const kept = await fetch(`${wharf.url}/v2/team/index/manifests/${foreign.digest}`, {
      headers: { accept: OCI_MANIFEST },
    });
    assert.equal(kept.status, 200);
    // The rebuild logs after its tag write is visible: give the log line a moment to be written.
    const said = /the tag held an artifact that is not Wharf's index/;
    for (let i = 0; i < 50 && !said.test(wharf.output()); i++) await sleep(100);
    assert.match(wharf.output(), said);
  });
});

describe("the index mark survives a restart", { timeout: 120_000 }, () => {
  let dataDir: string;
  let wharf: TestServer | undefined;
  after(async () => {
    await wharf?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("a push marked before a stop is in the index after the next start; writes are audited as system", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "wharf-index-restart-"));
    // A delay far longer than the test: only the start-up rebuild of marked namespaces can list it.
    const env = { WHARF_INDEX_NAMESPACES: "team", WHARF_INDEX_DELAY: "1h" };
    wharf = await startWharf({ dataDir, env });
    const empty = await indexUntil(wharf.url, "team", () => true);
    assert.deepEqual(empty.entries, []);
    await pushImage(wharf.url, "team/late", "v1");
    assert.deepEqual((await readIndex(wharf.url, "team"))?.entries, []);
    await wharf.stop({ keepData: true });

    assert.deepEqual(await queryMetadata(dataDir, "SELECT namespace FROM index_marks"), [
      { namespace: "team" },
    ]);

    wharf = await startWharf({ dataDir, env });
    const doc = await indexUntil(wharf.url, "team", (d) => d.entries.length > 0);
    assert.deepEqual(repos(doc), ["team/late"]);
    await wharf.stop({ keepData: true });

    assert.deepEqual(await queryMetadata(dataDir, "SELECT namespace FROM index_marks"), []);
    const audited = await queryMetadata(
      dataDir,
      "SELECT actor, repository FROM audit_events WHERE action = 'index.update' ORDER BY seq",
    );
    assert.deepEqual(audited, [
      { actor: "system", repository: "team/index" },
      { actor: "system", repository: "team/index" },
    ]);
    wharf = undefined;
  });
});

// Two nodes over one database are tested on PostgreSQL with the scale-out work: SQLite, one file behind
// the data directory's lock, is one node, and a second in-process node there hits SQLITE_BUSY_SNAPSHOT.
// The compare-and-set that keeps concurrent rebuilds safe is tested below.

describe("a rebuild that read older state than the database holds", { timeout: 120_000 }, () => {
  let wharf: TestServer | undefined;
  let dataDir: string;
  let second: Registry | undefined;
  after(async () => {
    await second?.stop();
    await wharf?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test("never replaces the newer index another rebuild wrote (the mark's token is compared in the write)", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "wharf-index-stale-"));
    // The serving node waits an hour: only the second node's rebuilds, run by the test, write the index.
    wharf = await startWharf({ dataDir, env: { WHARF_INDEX_NAMESPACES: "team", WHARF_INDEX_DELAY: "1h" } });
    await indexUntil(wharf.url, "team", () => true);
    // The same database the serving node uses, whichever backend it is.
    const url = (await backendOf(dataDir)).WHARF_METADATA_URL;
    const db = url ? await openPostgres(url, 2) : await openSqlite(join(dataDir, "metadata.db"));
    const store = new FsBlobStore(join(dataDir, "storage"));
    await store.init();
    const options = { namespaces: ["team"], delayMs: 3600_000 };
    second = new Registry(db, store, { uploadTtlMs: 3600_000, index: options }, pino({ level: "silent" }));
    // The first rebuild is held between building its list and writing it.
    const indexes = second.indexes as unknown as { build(ns: string): Promise<unknown> };
    const build = indexes.build.bind(indexes);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let built!: () => void;
    const held = new Promise<void>((resolve) => (built = resolve));
    let calls = 0;
    indexes.build = async (ns: string) => {
      const result = await build(ns);
      if (++calls === 1) {
        built();
        await gate;
      }
      return result;
    };

    await pushImage(wharf.url, "team/first", "v1");
    const stale = second.indexes.rebuild("team");
    await held; // it has built a list holding team/first only
    await pushImage(wharf.url, "team/second", "v1");
    await second.indexes.rebuild("team"); // a newer rebuild writes both
    assert.deepEqual(repos((await readIndex(wharf.url, "team"))!), ["team/first", "team/second"]);
    release();
    await stale;
    // The held rebuild found its mark replaced, built again, and found nothing to change.
    assert.deepEqual(repos((await readIndex(wharf.url, "team"))!), ["team/first", "team/second"]);
    assert.ok(calls >= 3, `the stale rebuild built again (${calls} builds)`);
  });
});

describe("index.namespaces in the configuration", () => {
  test("--print-config shows it (/ for the top level); a bad namespace stops start-up naming the key", async () => {
    const wharf = join(repoRoot, "bin", "wharf");
    const printed = await run(process.execPath, [wharf, "serve", "--print-config"], {
      env: { ...process.env, WHARF_INDEX_NAMESPACES: "team,/,charts/" },
    });
    assert.match(printed.stdout, /index:\n\s+namespaces:\n\s+- team\n\s+- \/\n\s+- charts\n\s+delay: 1s/);
    const bad = await run(process.execPath, [wharf, "serve", "--print-config"], {
      env: { ...process.env, WHARF_INDEX_NAMESPACES: "Team!" },
      allowFailure: true,
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /WHARF_INDEX_NAMESPACES.*Team!.*is not a repository path/);
  });
});
