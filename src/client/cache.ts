import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { parseDigest } from "../oci/digest.js";
import { writeFileAtomic, writeStreamAtomic } from "./atomic.js";
import { IntegrityError } from "./errors.js";
import type { Descriptor } from "./manifest.js";
import { decodeManifest, MANIFEST_LIMIT } from "./manifest.js";
import { digestLike, verified } from "./verify.js";

/** What a reference (`host/repo:tag` or `host/repo@digest`) resolved to, and when. */
export interface CachedReference {
  reference: string;
  digest: string;
  mediaType: string;
  size: number;
  resolvedAt: string;
}

export interface CacheStats {
  blobs: number;
  bytes: number;
}

/** Blobs younger than this are never pruned: a parallel pull may not have recorded its reference yet. */
const PRUNE_GRACE_MS = 10 * 60 * 1000;

/** A cached blob failed verification; it has been removed, so fetching it again is the fix. */
export class CorruptCacheError extends IntegrityError {}

/**
 * The local content-addressed cache: `blobs/<alg>/<hex>` holds manifests and blobs once whatever
 * references name them, `refs/` maps references to digests with the time they were resolved. Every write
 * is a rename of a complete, verified file, so parallel processes can share it; every read is verified.
 */
export class Cache {
  constructor(readonly root: string) {}

  /** `$XDG_CACHE_HOME/wharf`, default `~/.cache/wharf` (WHARF_CACHE_DIR overrides both). */
  static location(env: NodeJS.ProcessEnv = process.env): string {
    if (env.WHARF_CACHE_DIR) return env.WHARF_CACHE_DIR;
    const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache");
    return join(base, "wharf");
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.root, "blobs", algorithm, hex);
  }

  async has(descriptor: Descriptor): Promise<boolean> {
    const info = await stat(this.blobPath(descriptor.digest)).catch(() => undefined);
    return info !== undefined && info.size === descriptor.size;
  }

  /**
   * A verified stream of a cached blob, or undefined when it is not cached. If the content turns out not
   * to match, the stream fails with CorruptCacheError and the entry is gone.
   */
  async open(descriptor: Descriptor): Promise<Readable | undefined> {
    const path = this.blobPath(descriptor.digest);
    const info = await stat(path).catch(() => undefined);
    if (!info) return undefined;
    if (info.size !== descriptor.size) {
      await rm(path, { force: true });
      return undefined;
    }
    const stream = verified(
      createReadStream(path),
      descriptor,
      `cached blob ${descriptor.digest}`,
      (err) => new CorruptCacheError(`${err.message}; removed it from the cache`),
    );
    stream.on("error", (err) => {
      if (err instanceof CorruptCacheError) void rm(path, { force: true });
    });
    return stream;
  }

  /** A small cached blob (a manifest), verified; undefined if absent or found corrupt (and then dropped). */
  async read(descriptor: Pick<Descriptor, "digest"> & { size?: number }): Promise<Buffer | undefined> {
    const path = this.blobPath(descriptor.digest);
    let bytes: Buffer;
    try {
      const info = await stat(path);
      if (info.size > MANIFEST_LIMIT) return undefined;
      bytes = await readFile(path);
    } catch {
      return undefined;
    }
    const sizeOk = descriptor.size === undefined || bytes.length === descriptor.size;
    if (!sizeOk || digestLike(bytes, descriptor.digest) !== descriptor.digest) {
      await rm(path, { force: true });
      return undefined;
    }
    return bytes;
  }

  /** Stores a stream under its digest once it has been verified whole. */
  async write(descriptor: Descriptor, source: Readable): Promise<void> {
    const stream = verified(source, descriptor, `blob ${descriptor.digest}`);
    await writeStreamAtomic(this.blobPath(descriptor.digest), stream, join(this.root, "tmp"));
  }

  async writeBytes(digest: string, bytes: Buffer): Promise<void> {
    if (digestLike(bytes, digest) !== digest)
      throw new IntegrityError(`refusing to cache ${digest}: wrong content`);
    await writeFileAtomic(this.blobPath(digest), bytes, join(this.root, "tmp"));
  }

  async setReference(reference: string, descriptor: Descriptor): Promise<void> {
    const entry: CachedReference = {
      reference,
      digest: descriptor.digest,
      mediaType: descriptor.mediaType,
      size: descriptor.size,
      resolvedAt: new Date().toISOString(),
    };
    await writeFileAtomic(this.refPath(reference), `${JSON.stringify(entry)}\n`, join(this.root, "tmp"));
  }

  async getReference(reference: string): Promise<CachedReference | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.refPath(reference), "utf8")) as CachedReference;
      return entry.reference === reference ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  async removeReference(reference: string): Promise<void> {
    await rm(this.refPath(reference), { force: true });
  }

  /** All recorded references, sorted. */
  async references(): Promise<CachedReference[]> {
    const dir = join(this.root, "refs");
    const names = await readdir(dir).catch(() => [] as string[]);
    const entries: CachedReference[] = [];
    for (const name of names.filter((n) => n.endsWith(".json"))) {
      try {
        entries.push(JSON.parse(await readFile(join(dir, name), "utf8")) as CachedReference);
      } catch {
        // Removed by a parallel prune, or unreadable: not an entry.
      }
    }
    return entries.sort((a, b) => a.reference.localeCompare(b.reference));
  }

  async stats(): Promise<CacheStats> {
    let blobs = 0;
    let bytes = 0;
    for await (const blob of this.blobFiles()) {
      blobs++;
      bytes += blob.size;
    }
    return { blobs, bytes };
  }

  /**
   * Removes references resolved before `olderThan` (all with `all`), then every blob no remaining
   * reference reaches. Returns what went.
   */
  async prune(options: { all?: boolean; olderThanMs?: number } = {}): Promise<{
    references: string[];
    blobs: number;
    bytes: number;
  }> {
    const removedRefs: string[] = [];
    const keep: CachedReference[] = [];
    for (const entry of await this.references()) {
      const age = Date.now() - Date.parse(entry.resolvedAt);
      const expired = options.all || (options.olderThanMs !== undefined && age > options.olderThanMs);
      if (expired) {
        await this.removeReference(entry.reference);
        removedRefs.push(entry.reference);
      } else keep.push(entry);
    }
    const live = new Set<string>();
    for (const entry of keep) await this.mark(entry, live);
    let blobs = 0;
    let bytes = 0;
    for await (const blob of this.blobFiles()) {
      if (live.has(blob.digest)) continue;
      if (!options.all && Date.now() - blob.mtimeMs < PRUNE_GRACE_MS) continue;
      await rm(blob.path, { force: true });
      blobs++;
      bytes += blob.size;
    }
    await rm(join(this.root, "tmp"), { recursive: true, force: true }).catch(() => undefined);
    return { references: removedRefs, blobs, bytes };
  }

  /** Re-hashes every blob; corrupt ones are removed (a later pull fetches them again). */
  async verify(
    onBlob?: (digest: string, ok: boolean) => void,
  ): Promise<{ checked: number; corrupt: string[] }> {
    let checked = 0;
    const corrupt: string[] = [];
    for await (const blob of this.blobFiles()) {
      checked++;
      const hash = createHash(blob.algorithm);
      for await (const chunk of createReadStream(blob.path)) hash.update(chunk as Buffer);
      const ok = `${blob.algorithm}:${hash.digest("hex")}` === blob.digest;
      if (!ok) {
        corrupt.push(blob.digest);
        await rm(blob.path, { force: true });
      }
      onBlob?.(blob.digest, ok);
    }
    return { checked, corrupt };
  }

  /** Marks a manifest and everything under it as reachable (missing pieces are simply not marked). */
  private async mark(descriptor: { digest: string; mediaType: string }, live: Set<string>): Promise<void> {
    if (live.has(descriptor.digest)) return;
    live.add(descriptor.digest);
    const bytes = await this.read({ digest: descriptor.digest });
    if (!bytes) return;
    try {
      const decoded = decodeManifest({ bytes, mediaType: descriptor.mediaType, digest: descriptor.digest });
      if (decoded.kind === "index") {
        for (const child of decoded.doc.manifests) await this.mark(child, live);
      } else {
        live.add(decoded.doc.config.digest);
        for (const layer of decoded.doc.layers) live.add(layer.digest);
      }
    } catch {
      // Not a manifest we can read: only the blob itself stays.
    }
  }

  private async *blobFiles(): AsyncGenerator<{
    path: string;
    digest: string;
    algorithm: string;
    size: number;
    mtimeMs: number;
  }> {
    const base = join(this.root, "blobs");
    for (const algorithm of await readdir(base).catch(() => [] as string[])) {
      for (const hex of await readdir(join(base, algorithm)).catch(() => [] as string[])) {
        const path = join(base, algorithm, hex);
        const info = await stat(path).catch(() => undefined);
        if (!info?.isFile()) continue;
        yield { path, digest: `${algorithm}:${hex}`, algorithm, size: info.size, mtimeMs: info.mtimeMs };
      }
    }
  }

  private refPath(reference: string): string {
    const key = createHash("sha256").update(reference).digest("hex");
    return join(this.root, "refs", `${key}.json`);
  }
}
