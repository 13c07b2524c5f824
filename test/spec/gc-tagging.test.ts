/**
 * The manifest sweep against a tag PUT racing it, made deterministic by running the PUT at the exact
 * points of the removal: between the sweep's decision and its delete (the delete's in-transaction
 * re-check must keep the manifest), and while the delete's transaction holds the tag lock (the PUT waits,
 * then stores the manifest whole again). Either way the tag resolves to a complete manifest.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { createTestDatabase, testBackend } from "../helpers/backends.js";
import { openPostgres, openSqlite, type Db } from "../../src/metadata/database.js";
import { FsBlobStore } from "../../src/storage/fs-blob-store.js";
import { Registry } from "../../src/registry/registry.js";
import { manifestPhase } from "../../src/registry/gc/manifest-sweep.js";
import type { DeleteOptions } from "../../src/registry/manifests.js";
import type { SweepContext } from "../../src/registry/gc/types.js";
import { OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256 } from "./manifest-support.js";

async function openRegistry(): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), "wharf-gc-tag-"));
  const db: Db =
    testBackend() === "embedded"
      ? await openSqlite(join(dir, "metadata.db"))
      : await openPostgres(await createTestDatabase(), 4);
  const store = new FsBlobStore(join(dir, "storage"));
  await store.init();
  return new Registry(db, store, { uploadTtlMs: 3600_000 }, pino({ level: "silent" }));
}

async function pushUntagged(registry: Registry, repo: string): Promise<{ digest: string; body: Buffer }> {
  const descriptors = [];
  for (const [mediaType, data] of [
    [OCI_CONFIG, Buffer.from(JSON.stringify({ n: randomBytes(8).toString("hex") }))],
    [OCI_LAYER, randomBytes(200)],
  ] as const) {
    const digest = sha256(data);
    await registry.uploads.upload(repo, digest, Readable.from([data]), { contentLength: data.length });
    descriptors.push({ mediaType, digest, size: data.length });
  }
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptors[0],
      layers: [descriptors[1]],
    }),
  );
  const { digest } = await registry.manifests.put(repo, sha256(body), OCI_MANIFEST, body);
  return { digest, body };
}

function context(): SweepContext {
  return {
    dryRun: false,
    cutoff: new Date(Date.now() + 1000),
    planned: { manifests: new Set(), links: new Set() },
    removed: () => undefined,
    progress: () => undefined,
    signal: new AbortController().signal,
  };
}

/** The manifest, its tag and its references are all there (nothing half-deleted). */
async function assertWhole(registry: Registry, repo: string, tag: string, digest: string, body: Buffer) {
  const byTag = await registry.manifests.get(repo, tag);
  assert.equal(byTag.digest, digest);
  assert.deepEqual(byTag.content, body);
  const refs = await registry.db
    .selectFrom("manifest_references")
    .select("child_digest")
    .where("repository", "=", repo)
    .where("manifest_digest", "=", digest)
    .execute();
  assert.equal(refs.length, 2, "the manifest's references are stored");
}

test("a manifest tagged while the sweep collects it is kept whole, or stored whole again", async () => {
  const registry = await openRegistry();
  try {
    const repo = "gc/race";
    const early = await pushUntagged(registry, repo);
    const late = await pushUntagged(registry, repo);
    let pending: Promise<unknown> | undefined;
    const manifests = {
      deleteByDigest: async (repository: string, digest: string, options: DeleteOptions = {}) => {
        if (digest === early.digest) {
          // After the decision, before the delete's transaction: the re-check must see the tag.
          await registry.manifests.put(repo, "early", OCI_MANIFEST, early.body);
          return registry.manifests.deleteByDigest(repository, digest, options);
        }
        // While the delete holds the tag lock: the PUT waits for it, then stores the manifest again.
        return registry.manifests.deleteByDigest(repository, digest, {
          ...options,
          keep: async (trx) => {
            pending = registry.manifests.put(repo, "late", OCI_MANIFEST, late.body);
            return (await options.keep?.(trx)) ?? false;
          },
        });
      },
    } as unknown as Registry["manifests"];
    const phase = manifestPhase({
      db: registry.db,
      manifests,
      quotas: registry.quotas,
      untagged: true,
      manages: () => false,
    });
    const result = await phase.run(context());
    await pending;
    assert.equal(result.skipped, 1, "the manifest tagged before the delete's transaction was kept");
    assert.equal(result.count, 1, "the one whose delete held the lock first was removed, then pushed again");
    await assertWhole(registry, repo, "early", early.digest, early.body);
    await assertWhole(registry, repo, "late", late.digest, late.body);
  } finally {
    await registry.db.destroy();
  }
});
