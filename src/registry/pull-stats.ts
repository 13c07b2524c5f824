import type { Db } from "../metadata/database.js";

/**
 * SKELETON on main (the retention engineer fills it in): last pulled time and pull count per manifest,
 * counted in memory and flushed in batches so that a pull never waits for a write.
 */
export class PullStats {
  constructor(private readonly db: Db) {}

  /** A manifest was served to a client (GET, not HEAD). Never throws, never waits. */
  record(repository: string, digest: string): void {
    void this.db;
    void repository;
    void digest;
  }

  start(): void {}

  /** Flushes what is counted. */
  async stop(): Promise<void> {}
}
