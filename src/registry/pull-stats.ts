import type { Logger } from "pino";
import type { Db } from "../metadata/database.js";
import { addPulls, type PullDelta } from "../metadata/pull-stats.js";

/** How often counted pulls are written. */
export const PULL_FLUSH_MS = 2000;
/**
 * Distinct manifests counted between flushes at most (a few hundred bytes each). Past it, pulls of
 * manifests not counted yet are dropped until the next flush: statistics may undercount under a flood
 * of distinct manifests, memory never grows.
 */
export const MAX_PENDING_PULLS = 20_000;

/**
 * Last pulled time and pull count per manifest, counted in memory and flushed in batches so that a
 * pull never waits for a write (every node counts its own pulls; the flush adds them up in the
 * database). A failed flush keeps its counts for the next one, within the same bound.
 */
export class PullStats {
  private pending = new Map<string, PullDelta>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private dropped = 0;

  constructor(
    private readonly db: Db,
    private readonly log?: Logger,
  ) {}

  /** A manifest was served to a client (GET, not HEAD). Never throws, never waits. */
  record(repository: string, digest: string): void {
    const key = `${repository}@${digest}`;
    const at = new Date().toISOString();
    const counted = this.pending.get(key);
    if (counted) {
      counted.count++;
      counted.at = at;
      return;
    }
    if (this.pending.size >= MAX_PENDING_PULLS) {
      this.dropped++;
      return;
    }
    this.pending.set(key, { repository, digest, count: 1, at });
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), PULL_FLUSH_MS);
    this.timer.unref();
  }

  /** Flushes what is counted. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Twice: the first may only wait for a flush already running, the second writes what came since.
    await this.flush();
    await this.flush();
  }

  /** Writes what is counted; one flush at a time (a slow one is awaited, not overlapped). */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    if (this.dropped > 0) {
      this.log?.warn(
        { dropped: this.dropped },
        "pull statistics: too many distinct manifests, some pulls not counted",
      );
      this.dropped = 0;
    }
    try {
      await addPulls(this.db, [...batch.values()]);
    } catch (err) {
      this.log?.warn(
        { err, manifests: batch.size },
        "pull statistics: flush failed; retrying with the next one",
      );
      this.restore(batch);
    }
  }

  /** Puts a failed flush's counts back, merged with those counted since (within the bound). */
  private restore(batch: Map<string, PullDelta>): void {
    for (const [key, delta] of batch) {
      const counted = this.pending.get(key);
      if (counted) {
        counted.count += delta.count;
        if (delta.at > counted.at) counted.at = delta.at;
      } else if (this.pending.size < MAX_PENDING_PULLS) {
        this.pending.set(key, delta);
      }
    }
  }
}
