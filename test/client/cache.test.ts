import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { startWharf, type TestServer } from "../helpers/server.js";
import { describeBytes, pushArtifact, readAll, sha256 } from "./fixtures.js";
import { Cache, CorruptCacheError } from "../../src/client/cache.js";
import { CachingFetcher } from "../../src/client/fetcher.js";
import { Client, decodeManifest, parseRegistryReference, UnreachableError } from "../../src/client/index.js";

const fastRetry = { retries: 1, baseDelayMs: 5, maxDelayMs: 10 };

describe("local cache", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "wharf-cache-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("location follows XDG_CACHE_HOME, then HOME", () => {
    assert.equal(Cache.location({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" }), "/x/cache/wharf");
    assert.equal(Cache.location({ HOME: "/home/u" }), "/home/u/.cache/wharf");
  });

  test("blobs are verified on write and on read; a corrupt entry is dropped", async () => {
    const cache = new Cache(join(dir, "verify"));
    const bytes = randomBytes(10_000);
    const descriptor = describeBytes(bytes);
    await assert.rejects(cache.write(descriptor, Readable.from([randomBytes(10_000)])), /does not match/);
    assert.equal(await cache.has(descriptor), false, "nothing kept from a bad write");
    await cache.write(descriptor, Readable.from([bytes]));
    assert.deepEqual(await readAll((await cache.open(descriptor)) as Readable), bytes);

    const damaged = Buffer.from(bytes);
    damaged.writeUInt8(damaged.readUInt8(0) ^ 1, 0);
    await writeFile(cache.blobPath(descriptor.digest), damaged);
    await assert.rejects(readAll((await cache.open(descriptor)) as Readable), CorruptCacheError);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await cache.has(descriptor), false, "corrupt entry removed");
    assert.deepEqual(await readdir(join(cache.root, "tmp")), [], "no temporary files left");
  });

  test("parallel writers of the same blob leave one complete file", async () => {
    const cache = new Cache(join(dir, "parallel"));
    const bytes = randomBytes(200_000);
    const descriptor = describeBytes(bytes);
    await Promise.all(Array.from({ length: 6 }, () => cache.write(descriptor, Readable.from([bytes]))));
    assert.deepEqual(await readFile(cache.blobPath(descriptor.digest)), bytes);
    assert.deepEqual(await readdir(join(cache.root, "tmp")), []);
  });

  test("verify finds corrupt blobs; prune keeps what references reach", async () => {
    const cache = new Cache(join(dir, "prune"));
    const layer = Buffer.from("layer");
    const config = Buffer.from("{}");
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: describeBytes(config, "application/vnd.oci.empty.v1+json"),
        layers: [describeBytes(layer)],
      }),
    );
    const orphan = Buffer.from("orphan");
    for (const b of [layer, config, manifest, orphan]) await cache.writeBytes(sha256(b), b);
    await cache.setReference(
      "example.com/a:v1",
      describeBytes(manifest, "application/vnd.oci.image.manifest.v1+json"),
    );
    assert.equal((await cache.stats()).blobs, 4);

    await writeFile(cache.blobPath(sha256(orphan)), "tampered");
    const verified = await cache.verify();
    assert.equal(verified.checked, 4);
    assert.deepEqual(verified.corrupt, [sha256(orphan)]);
    await cache.writeBytes(sha256(orphan), orphan);

    // Fresh orphans are kept for a grace period (a parallel pull may be about to reference them).
    assert.equal((await cache.prune()).blobs, 0);
    const all = await cache.prune({ all: true });
    assert.deepEqual(all.references, ["example.com/a:v1"]);
    assert.equal(all.blobs, 4);
    assert.equal((await cache.stats()).blobs, 0);
  });
});

describe("fetching through the cache", () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startWharf();
    dir = await mkdtemp(join(tmpdir(), "wharf-fetch-"));
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a tag pulled once resolves from the cache when the registry is gone", async () => {
    const client = new Client({ retry: fastRetry });
    const layer = randomBytes(50_000);
    const pushed = await pushArtifact(client.registry(server.host), "cached/app", "v1", [layer]);
    const cache = new Cache(join(dir, "cache"));
    const ref = parseRegistryReference(`${server.host}/cached/app:v1`);

    const online = new CachingFetcher(client, cache);
    const resolved = await online.resolve(ref);
    assert.equal(resolved.fromCache, false);
    assert.equal(resolved.descriptor.digest, pushed.digest);
    const manifest = decodeManifest(await online.manifest(ref, resolved.descriptor));
    assert.equal(manifest.kind, "image");
    const layerDescriptor = manifest.kind === "image" ? manifest.doc.layers[0] : undefined;
    assert.ok(layerDescriptor);
    assert.deepEqual(await readAll(await online.blob(ref, layerDescriptor)), layer);
    assert.equal(online.downloads, 2);
    const entry = await cache.getReference(`${server.host}/cached/app:v1`);
    assert.equal(entry?.digest, pushed.digest);
    assert.ok(entry && Date.now() - Date.parse(entry.resolvedAt) < 60_000, "resolution time recorded");

    await server.stop();
    const offline = new CachingFetcher(client, cache);
    const again = await offline.resolve(ref);
    assert.equal(again.fromCache, true);
    assert.equal(again.descriptor.digest, pushed.digest);
    await offline.manifest(ref, again.descriptor);
    assert.deepEqual(await readAll(await offline.blob(ref, layerDescriptor)), layer);
    assert.equal(offline.downloads, 0);

    const refresh = new CachingFetcher(client, cache, { refresh: true });
    await assert.rejects(refresh.resolve(ref), UnreachableError);
    const unknown = parseRegistryReference(`${server.host}/cached/other:v1`);
    await assert.rejects(offline.resolve(unknown), /not in the cache/);
    client.close();
  });
});
