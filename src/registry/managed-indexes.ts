import { Readable } from "node:stream";
import type { Logger } from "pino";
import type { Db } from "../metadata/database.js";
import { tagsOf } from "../metadata/artifacts.js";
import { clearIndexMark, findIndexMark, markedNamespaces, markIndexes } from "../metadata/index-marks.js";
import { RegistryError } from "../oci/errors.js";
import {
  buildIndexArtifact,
  indexLayerOf,
  indexRepository,
  isBelow,
  INDEX_TAG,
  MAX_INDEX_BYTES,
  type BuiltIndex,
  type IndexBlob,
  type IndexDocument,
} from "../oci/index-artifact/index.js";
import type { AuditLog } from "./audit.js";
import type { BlobService } from "./blobs.js";
import type { FactsRecorder } from "./facts.js";
import { buildDocument } from "./index-document.js";
import type { IndexTracking, ManifestService } from "./manifests.js";
import type { UploadService } from "./uploads.js";

export interface ManagedIndexOptions {
  /** Namespaces whose `<namespace>/index:latest` the server keeps current ("" for the top level). */
  namespaces: readonly string[];
  /** A rebuild runs this long after the last change, and at most ten times this after the first. */
  delayMs: number;
}

/** How often marks are looked for that no change on this node announced (a restart, another node). */
const SWEEP_MS = 30_000;
/** A rebuild that keeps losing its compare-and-set to newer marks gives way to the next scheduled one. */
const MAX_ATTEMPTS = 5;
/** The actor index writes are audited as. */
export const INDEX_ACTOR = "system";

class StaleRebuild extends Error {}

interface Pending {
  timer: NodeJS.Timeout;
  since: number;
}

/**
 * Which repositories hold a managed index and which managed namespaces a change to a repository puts out
 * of date: all a process that writes tags without rebuilding indexes (the CLI's --data-dir) needs.
 */
export class IndexScope {
  readonly repositories: ReadonlySet<string>;

  constructor(private readonly namespaces: readonly string[]) {
    this.repositories = new Set(namespaces.map(indexRepository));
  }

  manages(repository: string): boolean {
    return this.repositories.has(repository);
  }

  /** None for an index's own repository. */
  namespacesOf(repository: string): string[] {
    if (this.repositories.has(repository)) return [];
    return this.namespaces.filter((ns) => isBelow(repository, ns));
  }
}

/**
 * Keeps the managed index artifacts current. A change below a managed namespace marks it in the
 * database, in the change's own transaction (so a push only pays for one upsert, and a mark survives
 * a crash or is seen by another node); this schedules a rebuild after a short quiet period, so a burst
 * of pushes writes the index once. A rebuild reads the mark's token, builds the whole list from the
 * metadata and writes it through the ordinary blob and manifest paths; the manifest write clears the
 * mark in its own transaction only if the token is unchanged, so a rebuild that read older state than
 * the database now holds never replaces a newer index (it builds again instead).
 */
export class ManagedIndexes implements IndexTracking {
  readonly namespaces: readonly string[];
  private readonly scope: IndexScope;
  private readonly pending = new Map<string, Pending>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private sweeper: NodeJS.Timeout | undefined;
  private stopping = false;
  private audit: AuditLog | undefined;

  constructor(
    private readonly db: Db,
    private readonly manifests: ManifestService,
    private readonly uploads: UploadService,
    private readonly blobs: BlobService,
    private readonly facts: FactsRecorder,
    private readonly options: ManagedIndexOptions,
    private readonly log: Logger,
  ) {
    this.namespaces = [...new Set(options.namespaces)];
    this.scope = new IndexScope(this.namespaces);
  }

  /** Index writes are recorded in the audit log as the system actor. */
  auditWith(audit: AuditLog): void {
    this.audit = audit;
  }

  /** Whether `repository` holds one of the managed index artifacts. */
  manages(repository: string): boolean {
    return this.scope.manages(repository);
  }

  namespacesOf(repository: string): string[] {
    return this.scope.namespacesOf(repository);
  }

  changed(namespaces: readonly string[]): void {
    for (const namespace of namespaces) this.schedule(namespace);
  }

  /** Rebuilds what is marked (or has no index yet), then looks for marks periodically. */
  async start(): Promise<void> {
    if (this.namespaces.length === 0) return;
    const marked = new Set(await markedNamespaces(this.db, this.namespaces));
    for (const namespace of this.namespaces) {
      if (marked.has(namespace) || !(await this.current(namespace))) this.schedule(namespace, 0);
    }
    this.sweeper = setInterval(() => void this.sweep(), Math.max(SWEEP_MS, this.options.delayMs));
    this.sweeper.unref();
  }

  /** Stops scheduling and waits for rebuilds in progress; marks left are rebuilt at the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.sweeper);
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
    await Promise.all(this.running.values());
  }

  private async sweep(): Promise<void> {
    try {
      for (const namespace of await markedNamespaces(this.db, this.namespaces)) this.schedule(namespace);
    } catch (err) {
      this.log.error({ err }, "looking for out-of-date managed indexes failed");
    }
  }

  /** Debounced: each change pushes the rebuild back by the delay, up to ten delays after the first. */
  private schedule(namespace: string, delay = this.options.delayMs): void {
    if (this.stopping) return;
    const pending = this.pending.get(namespace);
    const now = Date.now();
    if (pending) {
      if (now - pending.since >= this.options.delayMs * 10) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => this.fire(namespace), delay);
    timer.unref();
    this.pending.set(namespace, { timer, since: pending?.since ?? now });
  }

  private fire(namespace: string): void {
    this.pending.delete(namespace);
    if (this.running.has(namespace)) {
      // One rebuild per namespace at a time: this change is picked up by another one right after.
      this.again.add(namespace);
      return;
    }
    const run = this.rebuild(namespace)
      .catch((err: unknown) => {
        this.log.error({ err, namespace }, "rebuilding the managed index failed; its mark is kept");
      })
      .finally(() => {
        this.running.delete(namespace);
        if (this.again.delete(namespace)) this.schedule(namespace, 0);
      });
    this.running.set(namespace, run);
  }

  /** Builds the namespace's index from the database and writes it if it differs from the current one. */
  async rebuild(namespace: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS && !this.stopping; attempt++) {
      const mark = await this.markToBuild(namespace);
      // Gone between our mark and now: another node's rebuild read the database after it, and wrote.
      if (!mark) return;
      const built = await this.build(namespace);
      const current = await this.current(namespace);
      if (current?.digest === built.manifest.digest) {
        await clearIndexMark(this.db, namespace, mark.token);
        return;
      }
      try {
        await this.write(namespace, built, mark.token);
      } catch (err) {
        if (err instanceof StaleRebuild) continue;
        throw err;
      }
      if (current) await this.removePrevious(namespace, current, built);
      return;
    }
    // Newer marks kept coming: the last one is still there, and the next schedule or sweep takes it.
    this.log.debug({ namespace }, "managed index rebuild gave way to newer changes");
  }

  /**
   * The mark a rebuild compares against, made when there is none (a first build, or another node
   * rebuilt already). Never building without one matters across nodes: "no mark at write time" would
   * also hold if another node had rebuilt newer state and cleared the mark meanwhile, and the stale
   * build would then replace the newer index. A token that existed is the only proof of freshness.
   */
  private async markToBuild(namespace: string) {
    const mark = await findIndexMark(this.db, namespace);
    if (mark) return mark;
    await markIndexes(this.db, [namespace]);
    return findIndexMark(this.db, namespace);
  }

  /** The artifact, bounded: past the format's byte cap, entries are left out until it fits. */
  private async build(namespace: string): Promise<BuiltIndex & { entries: number }> {
    const { doc, omitted } = await buildDocument(this.db, this.facts, namespace, this.scope.repositories);
    let kept: IndexDocument = doc;
    let built = buildIndexArtifact(kept);
    while (built.layer.size > MAX_INDEX_BYTES) {
      const keep = Math.floor(kept.entries.length * (MAX_INDEX_BYTES / built.layer.size) * 0.95);
      kept = { ...kept, entries: kept.entries.slice(0, keep) };
      built = buildIndexArtifact(kept);
    }
    const left = omitted + doc.entries.length - kept.entries.length;
    if (left > 0) {
      this.log.warn(
        { namespace, listed: kept.entries.length, omitted: left },
        "the namespace has more artifacts than its index can hold: the first ones by repository are listed",
      );
    }
    return { ...built, entries: kept.entries.length };
  }

  private async write(
    namespace: string,
    built: BuiltIndex & { entries: number },
    token: string,
  ): Promise<void> {
    const repository = indexRepository(namespace);
    await this.ensureBlob(repository, built.config);
    await this.ensureBlob(repository, built.layer);
    // The tag moves only if no change was marked since this build read the database.
    const guard = async (trx: Db) => {
      if (!(await clearIndexMark(trx, namespace, token))) throw new StaleRebuild();
    };
    const manifest = built.manifest;
    await this.manifests.put(repository, INDEX_TAG, manifest.mediaType, manifest.bytes, [], guard);
    this.log.info(
      { namespace, repository, digest: manifest.digest, entries: built.entries },
      "managed index written",
    );
    await this.audit?.record({
      actor: INDEX_ACTOR,
      client: "wharf",
      action: "index.update",
      repository,
      target: manifest.digest,
      detail: { namespace, entries: built.entries },
    });
  }

  /** Uploads a blob unless the repository has it already (the config is the same every time). */
  private async ensureBlob(repository: string, blob: IndexBlob): Promise<void> {
    try {
      await this.blobs.stat(repository, blob.digest);
      return;
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
    }
    await this.uploads.upload(repository, blob.digest, Readable.from([blob.bytes]), {
      contentLength: blob.size,
    });
  }

  /**
   * The version the tag no longer names goes, with its layer, so that the repository holds one index
   * rather than one per push. Only Wharf's own index is removed, and only if the tag has moved on.
   */
  private async removePrevious(
    namespace: string,
    previous: { digest: string; content: Buffer },
    built: BuiltIndex,
  ): Promise<void> {
    const repository = indexRepository(namespace);
    let layer: { digest: string };
    try {
      layer = indexLayerOf(previous.content);
    } catch {
      // The namespace is managed: the tag is the server's. What held it stays stored, by digest.
      this.log.warn(
        { namespace, repository, digest: previous.digest },
        "the tag held an artifact that is not Wharf's index: it is kept by digest, the tag names the managed index",
      );
      return;
    }
    try {
      // Still tagged (latest again, or another tag someone gave it): deleting would take the tag.
      if ((await tagsOf(this.db, repository, previous.digest, 1)).length > 0) return;
      await this.manifests.delete(repository, previous.digest);
      if (layer.digest !== built.layer.digest) await this.blobs.delete(repository, layer.digest);
    } catch (err) {
      this.log.debug({ err, namespace, digest: previous.digest }, "previous index version kept");
    }
  }

  private async current(namespace: string): Promise<{ digest: string; content: Buffer } | null> {
    try {
      return await this.manifests.get(indexRepository(namespace), INDEX_TAG);
    } catch (err) {
      if (err instanceof RegistryError) return null;
      throw err;
    }
  }
}
