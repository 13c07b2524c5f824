import type { Logger } from "pino";
import type { Db } from "../metadata/database.js";
import type { BlobStore } from "../storage/blob-store.js";
import { BlobService } from "./blobs.js";
import { ListingService } from "./listings.js";
import { ManifestService } from "./manifests.js";
import { ImmutableTags } from "./immutable/service.js";
import { UploadService } from "./uploads.js";
import { StorageVerification } from "./storage-verification.js";
import { KeyedLock } from "./keyed-lock.js";
import { FactsRecorder } from "./facts.js";
import { DiscoveryService } from "./discovery.js";
import { ManagedIndexes, type ManagedIndexOptions } from "./managed-indexes.js";
import { BUILTIN_KINDS, type Kind } from "../oci/kinds/index.js";
import { TagResolver } from "./tag-resolution.js";
import { TrustState } from "./trust/index.js";
import { TrustEnforcement } from "./trust/enforcement.js";
import { SignatureRecorder } from "./trust/signatures.js";
import { GarbageCollector } from "./gc/collector.js";
import { blobPhases } from "./gc/blob-sweep.js";
import { BlobStates } from "./gc/blob-states.js";
import { manifestPhase } from "./gc/manifest-sweep.js";
import { DEFAULT_GC_OPTIONS, type GcOptions } from "./gc/types.js";
import { RetentionService } from "./retention/service.js";
import { QuotaService } from "./quotas/service.js";
import { PullStats } from "./pull-stats.js";

export interface RegistryOptions {
  /** Upload sessions idle this long are removed with their data. */
  uploadTtlMs: number;
  /** The kinds catalogue (built-in merged with the operator's); the built-in one by default. */
  kinds?: readonly Kind[];
  /** The namespaces whose index artifact the server keeps current; none by default. */
  index?: ManagedIndexOptions;
  /**
   * This process is the only node on its database while it starts (the embedded registry, holding its
   * data directory's lock): state a crashed predecessor held, such as upload leases, is released.
   */
  alone?: boolean;
  /** Garbage collection (gc.grace, gc.interval, gc.untagged); on demand only by default. */
  gc?: GcOptions;
}

/** The registry's domain: everything the HTTP API does, without HTTP. */
export class Registry {
  readonly blobs: BlobService;
  readonly uploads: UploadService;
  readonly manifests: ManifestService;
  readonly immutable: ImmutableTags;
  readonly listings: ListingService;
  readonly verification: StorageVerification;
  readonly facts: FactsRecorder;
  readonly discovery: DiscoveryService;
  readonly indexes: ManagedIndexes;
  readonly tagResolver: TagResolver;
  readonly trust: TrustState;
  readonly enforcement: TrustEnforcement;
  readonly signatures: SignatureRecorder;
  readonly gc: GarbageCollector;
  readonly retention: RetentionService;
  readonly quotas: QuotaService;
  readonly pulls: PullStats;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly db: Db,
    readonly store: BlobStore,
    private readonly options: RegistryOptions,
    private readonly log: Logger,
  ) {
    // Committing a blob and taking it out of service are serialised per digest (see StorageVerification).
    const blobCommits = new KeyedLock();
    this.immutable = new ImmutableTags(db);
    this.quotas = new QuotaService(db);
    this.trust = new TrustState(db);
    // The managed indexes are made below; the check runs only on pulls, after construction.
    this.enforcement = new TrustEnforcement(db, this.trust, (repository) => this.indexes.manages(repository));
    const gc = options.gc ?? DEFAULT_GC_OPTIONS;
    const states = new BlobStates(db, gc.graceMs);
    this.blobs = new BlobService(db, store, this.immutable, states, this.quotas);
    this.uploads = new UploadService(db, store, blobCommits, states, this.quotas);
    const kinds = options.kinds ?? BUILTIN_KINDS;
    this.facts = new FactsRecorder(db, store, kinds, log);
    this.manifests = new ManifestService(db, this.immutable, this.quotas, this.facts);
    this.signatures = new SignatureRecorder(db, store, this.trust, log);
    this.manifests.trackSignatures(this.signatures);
    this.discovery = new DiscoveryService(db, this.manifests, this.facts, this.blobs, kinds);
    this.discovery.trackTrust(this.trust);
    this.listings = new ListingService(db);
    this.tagResolver = new TagResolver(db);
    const index = options.index ?? { namespaces: [], delayMs: 1000 };
    const blobs = this.blobs;
    this.indexes = new ManagedIndexes(db, this.manifests, this.uploads, blobs, this.facts, index, log);
    this.manifests.trackIndexes(this.indexes);
    this.verification = new StorageVerification(db, store, blobCommits, log);
    this.pulls = new PullStats(db, log);
    this.retention = new RetentionService(db, log, {
      immutable: this.immutable,
      manifests: this.manifests,
      managesIndex: (repository) => this.indexes.manages(repository),
    });
    const manifestSweep = manifestPhase({
      db,
      manifests: this.manifests,
      untagged: gc.untagged,
      manages: (repository) => this.indexes.manages(repository),
    });
    const reclaim = blobPhases(db, store, {
      commits: blobCommits,
      quotas: this.quotas,
      expireUploads: () => this.uploads.expire(new Date(Date.now() - options.uploadTtlMs)),
      uploadTtlMs: options.uploadTtlMs,
    });
    this.gc = new GarbageCollector(db, [manifestSweep, ...reclaim], gc, log, this.retention);
  }

  /** Expires stale uploads (with what a crash may have left) now and periodically. */
  async start(): Promise<void> {
    await this.immutable.start();
    await this.trust.start();
    if (this.options.alone) await this.uploads.releaseAllLeases();
    await this.expireUploads();
    const interval = Math.min(Math.max(this.options.uploadTtlMs / 4, 1000), 10 * 60_000);
    this.sweeper = setInterval(() => void this.expireUploads(), interval);
    this.sweeper.unref();
    this.facts.startBackfill();
    this.signatures.start();
    await this.indexes.start();
    this.pulls.start();
    this.gc.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweeper);
    await this.gc.stop();
    await this.pulls.stop();
    this.immutable.stop();
    this.trust.stop();
    await this.indexes.stop();
    await this.facts.stop();
    await this.signatures.stop();
    await this.db.destroy();
  }

  private async expireUploads(): Promise<void> {
    try {
      const removed = await this.uploads.expire(new Date(Date.now() - this.options.uploadTtlMs));
      if (removed > 0) this.log.info({ removed }, "expired stale upload sessions");
    } catch (err) {
      this.log.error({ err }, "expiring upload sessions failed");
    }
  }
}
