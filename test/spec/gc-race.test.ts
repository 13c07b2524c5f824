/**
 * The GC race test (issue 15): 8 clients push, mount, re-push and delete overlapping content over real
 * HTTP while garbage collection runs continuously with a 1 s grace window. Afterwards every manifest
 * acknowledged and not deleted is complete (every blob readable through the API and hashing to its
 * digest), and every blob nothing references is gone from the store. WHARF_GC_RACE_SECONDS sets the load's
 * length (60 s by default).
 */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { startWharf, type TestServer } from "../helpers/server.js";
import { queryMetadata } from "../helpers/backends.js";
import { bytes, digest, resolveLocation, sleep } from "./support.js";
import { storedBlobs } from "./gc-support.js";

const SECONDS = Number(process.env.WHARF_GC_RACE_SECONDS ?? 60);
const CLIENTS = 8;
const REPOS = ["race/a", "race/b", "race/c", "race/d"];
const GRACE_MS = 1000;
const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

interface Blob {
  digest: string;
  data: Buffer;
}

interface Acknowledged {
  repository: string;
  digest: string;
  body: Buffer;
  blobs: Blob[];
}

/** A small shared pool, so content overlaps across clients and repositories. */
const pool: Blob[] = Array.from({ length: 12 }, () => {
  const data = randomBytes(1024 + Math.floor(Math.random() * 30_000));
  return { digest: digest(data), data };
});

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;

class Load {
  readonly ops = new Map<string, number>();
  /** Answers a client may get during a race (retryable) and gets over by retrying or moving on. */
  readonly retryable = new Map<string, number>();
  readonly unexpected: string[] = [];
  readonly acknowledged = new Map<string, Acknowledged>();

  constructor(private readonly base: string) {}

  count(kind: string, map = this.ops): void {
    map.set(kind, (map.get(kind) ?? 0) + 1);
  }

  /** Anything but the answers the race allows is a failure, recorded for the final assertion. */
  private check(res: Response, text: string, allowed: number[], what: string): boolean {
    if (allowed.includes(res.status)) return true;
    const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? String(res.status);
    const race = ["MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID"];
    if (race.includes(code) && res.status < 500) this.count(`${what}: ${code}`, this.retryable);
    else if (res.status === 503 && code === "BLOB_UPLOAD_INVALID")
      this.count(`${what}: ${code}`, this.retryable);
    else this.unexpected.push(`${what}: ${res.status} ${text.slice(0, 300)}`);
    return false;
  }

  /** HEAD; if missing, a mount from another repository; if that is no mount, an upload. */
  async ensureBlob(repository: string, blob: Blob): Promise<boolean> {
    const head = await fetch(`${this.base}/v2/${repository}/blobs/${blob.digest}`, { method: "HEAD" });
    this.count("head");
    if (head.status === 200) return true;
    if (Math.random() < 0.5) {
      const from = pick(REPOS.filter((r) => r !== repository));
      const res = await fetch(
        `${this.base}/v2/${repository}/blobs/uploads/?mount=${blob.digest}&from=${from}`,
        {
          method: "POST",
        },
      );
      const text = await res.text();
      if (res.status === 201) {
        this.count("mount");
        return true;
      }
      if (res.status === 202) {
        this.count("mount fell back to an upload");
        const location = resolveLocation(this.base, res.headers.get("location"));
        const url = new URL(location);
        url.searchParams.set("digest", blob.digest);
        const put = await fetch(url, { method: "PUT", body: bytes(blob.data) });
        this.count("upload");
        return this.check(put, await put.text(), [201], "upload");
      }
      return this.check(res, text, [], "mount");
    }
    const res = await fetch(`${this.base}/v2/${repository}/blobs/uploads/?digest=${blob.digest}`, {
      method: "POST",
      body: bytes(blob.data),
    });
    this.count("upload");
    return this.check(res, await res.text(), [201], "upload");
  }

  async push(repository: string): Promise<void> {
    // A config of its own (a fresh blob) and layers from the shared pool; a nonce makes every manifest new.
    const configData = Buffer.from(JSON.stringify({ nonce: randomBytes(8).toString("hex") }));
    const config = { digest: digest(configData), data: configData };
    const layers = [...new Set(Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => pick(pool)))];
    for (const blob of [config, ...layers]) if (!(await this.ensureBlob(repository, blob))) return;
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: config.digest,
          size: configData.length,
        },
        layers: layers.map((l) => ({
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          digest: l.digest,
          size: l.data.length,
        })),
      }),
    );
    const manifestDigest = digest(body);
    const res = await fetch(`${this.base}/v2/${repository}/manifests/${manifestDigest}`, {
      method: "PUT",
      headers: { "Content-Type": MANIFEST_TYPE },
      body: bytes(body),
    });
    this.count("manifest put");
    if (this.check(res, await res.text(), [201], "manifest put")) {
      this.acknowledged.set(`${repository}@${manifestDigest}`, {
        repository,
        digest: manifestDigest,
        body,
        blobs: [config, ...layers],
      });
    }
  }

  async deleteManifest(): Promise<void> {
    const keys = [...this.acknowledged.keys()];
    if (keys.length === 0) return;
    const chosen = this.acknowledged.get(pick(keys));
    if (!chosen) return;
    // Forgotten before the request: from now on nothing may assume it is there.
    this.acknowledged.delete(`${chosen.repository}@${chosen.digest}`);
    const res = await fetch(`${this.base}/v2/${chosen.repository}/manifests/${chosen.digest}`, {
      method: "DELETE",
    });
    this.count("manifest delete");
    this.check(res, await res.text(), [202, 404], "manifest delete");
  }

  /** Unlinks a pool blob from a repository, then pushes it there again (retrying until it is back). */
  async deleteAndRepushBlob(): Promise<void> {
    const repository = pick(REPOS);
    const blob = pick(pool);
    const res = await fetch(`${this.base}/v2/${repository}/blobs/${blob.digest}`, { method: "DELETE" });
    this.count("blob delete");
    this.check(res, await res.text(), [202, 404], "blob delete");
    for (let attempt = 0; attempt < 20; attempt++) {
      this.count("re-push after delete");
      if (await this.ensureBlob(repository, blob)) return;
    }
    this.unexpected.push(`could not push ${blob.digest} to ${repository} again in 20 attempts`);
  }

  async pull(): Promise<void> {
    const repository = pick(REPOS);
    const blob = pick(pool);
    const res = await fetch(`${this.base}/v2/${repository}/blobs/${blob.digest}`);
    const data = Buffer.from(await res.arrayBuffer());
    this.count("blob get");
    // Not linked there (404) is an answer; other bytes than the digest's never are.
    if (res.status !== 200) this.check(res, data.toString(), [404], "blob get");
    else if (digest(data) !== blob.digest) {
      this.unexpected.push(`GET ${repository}/blobs/${blob.digest} served other bytes (${data.length})`);
    }
  }

  async client(until: number): Promise<void> {
    while (Date.now() < until) {
      const roll = Math.random();
      if (roll < 0.5) await this.push(pick(REPOS));
      else if (roll < 0.7) await this.deleteManifest();
      else if (roll < 0.8) await this.deleteAndRepushBlob();
      else if (roll < 0.9) await this.ensureBlob(pick(REPOS), pick(pool));
      else await this.pull();
    }
  }
}

/** Samples while the load runs: distinct sweeps seen holding the `gc` lease, blob files that went away. */
class Observer {
  readonly holders = new Set<string>();
  removals = 0;
  private previous = new Set<string>();
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly server: TestServer) {}

  start(): void {
    this.running = (async () => {
      let tick = 0;
      while (!this.stopped) {
        const rows = await queryMetadata<{ holder: string }>(
          this.server.dataDir,
          "SELECT holder FROM leases WHERE name = 'gc'",
        );
        for (const row of rows) this.holders.add(row.holder);
        if (tick++ % 10 === 0) await this.sampleStore();
        await sleep(50);
      }
    })();
  }

  async sampleStore(): Promise<Set<string>> {
    const now = await storedBlobs(this.server.dataDir, this.server.backend);
    for (const d of this.previous) if (!now.has(d)) this.removals++;
    this.previous = now;
    return now;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}

describe("garbage collection racing 8 clients", { timeout: SECONDS * 1000 + 180_000 }, () => {
  let server: TestServer | undefined;
  after(async () => server?.stop());

  test("loses no acknowledged manifest and leaves no unreferenced blob behind", async (t) => {
    server = await startWharf({ env: { WHARF_GC_GRACE: `${GRACE_MS}ms`, WHARF_GC_INTERVAL: "100ms" } });
    const load = new Load(server.url);
    const observer = new Observer(server);
    observer.start();
    t.after(() => observer.stop());
    const until = Date.now() + SECONDS * 1000;
    await Promise.all(Array.from({ length: CLIENTS }, () => load.client(until)));

    // The load has stopped: once the window has passed, sweeps leave exactly what manifests reference.
    const kept = new Set([...load.acknowledged.values()].flatMap((m) => m.blobs.map((b) => b.digest)));
    await sleep(GRACE_MS * 2);
    let stored = new Set<string>();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      stored = await observer.sampleStore();
      if (stored.size === kept.size && [...kept].every((d) => stored.has(d))) break;
      await sleep(250);
    }
    await observer.stop();

    // Every acknowledged manifest that was not deleted is complete, through the API.
    let blobsRead = 0;
    for (const manifest of load.acknowledged.values()) {
      const res: Response = await fetch(
        `${server.url}/v2/${manifest.repository}/manifests/${manifest.digest}`,
        {
          headers: { Accept: MANIFEST_TYPE },
        },
      );
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, `manifest ${manifest.repository}@${manifest.digest} was lost`);
      assert.equal(digest(body), manifest.digest);
      for (const blob of manifest.blobs) {
        const got: Response = await fetch(`${server.url}/v2/${manifest.repository}/blobs/${blob.digest}`);
        const data = Buffer.from(await got.arrayBuffer());
        assert.equal(
          got.status,
          200,
          `blob ${blob.digest} of ${manifest.repository}@${manifest.digest} was lost`,
        );
        assert.equal(createHash("sha256").update(data).digest("hex"), blob.digest.slice("sha256:".length));
        blobsRead++;
      }
    }
    const leftOver = [...stored].filter((d) => !kept.has(d));
    const missing = [...kept].filter((d) => !stored.has(d));
    const figures = {
      seconds: SECONDS,
      clients: CLIENTS,
      operations: Object.fromEntries(load.ops),
      retryableAnswers: Object.fromEntries(load.retryable),
      sweepsObserved: observer.holders.size,
      blobFilesRemovedObserved: observer.removals,
      manifestsKept: load.acknowledged.size,
      blobsVerified: blobsRead,
      blobsInStore: stored.size,
      unreferencedLeftInStore: leftOver.length,
      lost: missing.length,
    };
    t.diagnostic(`gc race figures: ${JSON.stringify(figures)}`);
    console.log("gc race figures:", JSON.stringify(figures, null, 2));

    assert.deepEqual(load.unexpected, [], "answers the race does not allow");
    assert.deepEqual(missing, [], "blobs of acknowledged manifests missing from the store");
    assert.deepEqual(leftOver, [], "blobs nothing references still in the store after the window");
    assert.ok(observer.holders.size > 10, `sweeps ran during the load (${observer.holders.size} seen)`);
    assert.ok(observer.removals > 0, "sweeps removed blobs during the load");
    assert.ok((load.ops.get("manifest put") ?? 0) > 20, "the load pushed manifests");
  });
});
