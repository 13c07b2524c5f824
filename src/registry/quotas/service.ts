import type { Db } from "../../metadata/database.js";

/** A digest newly held in a repository (a link, or a manifest row), with its size. */
export interface HeldObject {
  digest: string;
  size: number;
}

/**
 * SKELETON on main (the quotas engineer fills it in): byte quotas per repository glob. Every change to
 * what a repository holds calls added/removed inside its own transaction, so usage is exact; `added`
 * throws DENIED (used and allowed bytes in the message) when a quota would be exceeded.
 */
export class QuotaService {
  constructor(private readonly db: Db) {}

  /** Call in the transaction that created these links or manifest rows (only newly created ones). */
  async added(trx: Db, repository: string, objects: readonly HeldObject[]): Promise<void> {
    void this.db;
    void trx;
    void repository;
    void objects;
  }

  /** Call in the transaction that removed these links or manifest rows (only ones that existed). */
  async removed(trx: Db, repository: string, digests: readonly string[]): Promise<void> {
    void trx;
    void repository;
    void digests;
  }
}
