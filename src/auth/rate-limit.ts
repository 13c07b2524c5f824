import { createHash, randomBytes } from "node:crypto";
import type { Db } from "../metadata/database.js";
import {
  deleteAttempt,
  insertPending,
  liveAttempts,
  markFailed,
  pruneAttempts,
  withKeysLocked,
} from "../metadata/login-attempts.js";

/** Login attempts: how many guesses may be evaluated per user name and per client address. */
export interface LoginLimiter {
  /**
   * Reserves an attempt for both keys before the (slow, asynchronous) password check, so parallel
   * guesses are counted as they start, not as they end. Resolves to the attempt, or to the number of
   * seconds to wait when either key is locked out.
   */
  begin(name: string, client: string): Promise<LoginAttempt | { retryAfterSeconds: number }>;
}

export interface LoginAttempt {
  /** The guess was wrong: it stays counted for the window. */
  failed(): Promise<void>;
  /**
   * The credentials were right: the reservation is released. Failures stay counted for the window:
   * forgetting them would hand whoever is guessing a fresh allowance each time the owner (or a CI job
   * logging in before every step) gets in.
   */
  succeeded(): Promise<void>;
}

/**
 * A reservation counts this long at most: a node that dies mid-check must not hold the key for ever.
 * Far longer than a password check takes, even on a loaded machine.
 */
const RESERVATION_MS = 60_000;
/** A full key (all its slots reserved) is looked at again after this, doubling up to the maximum. */
const FIRST_RECHECK_MS = 20;
const MAX_RECHECK_MS = 250;
/** Expired rows are deleted at most this often per node. */
const PRUNE_EVERY_MS = 60_000;

interface Key {
  hash: string;
  limit: number;
}

type Verdict = { reserved: true } | { full: true } | { lockedUntilMs: number };

/**
 * Counts failures per key in a sliding window, in the database, so the limit holds across every node.
 * An attempt may start only while failures plus pending attempts stay below the limit; one that would
 * pass it waits until a pending attempt ends (a right password frees the slot, a wrong one fills it),
 * so at most `limit` guesses per key are ever checked per window, however many arrive at once on
 * however many nodes, while parallel logins with the right password all succeed.
 */
export class DatabaseLimiter implements LoginLimiter {
  /** Wakes this node's waiters when one of its attempts ends (other nodes' ends are polled for). */
  private readonly waiters = new Set<() => void>();
  private lastPrune = 0;

  constructor(
    private readonly db: Db,
    private readonly userLimit: number,
    private readonly clientLimit: number,
    private readonly windowMs: number,
  ) {}

  async begin(name: string, client: string): Promise<LoginAttempt | { retryAfterSeconds: number }> {
    this.prune();
    const keys: Key[] = [
      { hash: keyHash("user", name), limit: this.userLimit },
      { hash: keyHash("client", client), limit: this.clientLimit },
    ];
    const id = randomBytes(12).toString("hex");
    for (let wait = FIRST_RECHECK_MS; ; wait = Math.min(wait * 2, MAX_RECHECK_MS)) {
      // A look without the lock first: a locked or full key is told (or waited for) without a write.
      let verdict = await this.judge(this.db, keys);
      if ("reserved" in verdict) {
        verdict = await withKeysLocked(
          this.db,
          keys.map((k) => k.hash),
          async (conn) => {
            const checked = await this.judge(conn, keys);
            if ("reserved" in checked) {
              await insertPending(
                conn,
                id,
                keys.map((k) => k.hash),
                Date.now() + RESERVATION_MS,
              );
            }
            return checked;
          },
        );
      }
      if ("reserved" in verdict) return this.attempt(id);
      if ("lockedUntilMs" in verdict) {
        const seconds = Math.ceil((verdict.lockedUntilMs - Date.now()) / 1000);
        return { retryAfterSeconds: Math.max(1, seconds) };
      }
      await this.nextEnd(wait);
    }
  }

  /** Room for one more attempt on every key, or the lockout of one, or a slot to wait for. */
  private async judge(conn: Db, keys: readonly Key[]): Promise<Verdict> {
    const at = Date.now();
    let lockedUntilMs = 0;
    let full = false;
    for (const key of keys) {
      const live = await liveAttempts(conn, key.hash, at, key.limit);
      if (live.length < key.limit) continue;
      // The key's newest `limit` attempts all failed: locked until the oldest of them leaves the window.
      if (live.every((a) => a.state === "failed")) {
        lockedUntilMs = Math.max(lockedUntilMs, Math.min(...live.map((a) => a.expiresMs)));
      } else full = true;
    }
    if (lockedUntilMs > 0) return { lockedUntilMs };
    return full ? { full: true } : { reserved: true };
  }

  private attempt(id: string): LoginAttempt {
    let ended = false;
    const end = async (work: () => Promise<void>) => {
      if (ended) return;
      ended = true;
      try {
        await work();
      } finally {
        for (const wake of [...this.waiters]) wake();
      }
    };
    return {
      failed: () => end(() => markFailed(this.db, id, Date.now() + this.windowMs)),
      succeeded: () => end(() => deleteAttempt(this.db, id)),
    };
  }

  /** Resolves when an attempt of this node ends, or after `ms` (one of another node's may have). */
  private nextEnd(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  private prune(): void {
    const at = Date.now();
    if (at - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = at;
    // Only storage is at stake (expired rows count for nothing): a failure is retried next time.
    pruneAttempts(this.db, at).catch(() => (this.lastPrune = 0));
  }
}

/**
 * Keys are stored hashed: a user name field sometimes holds a password typed in the wrong box.
 * Real names have at most 64 characters; longer ones are counted under their first 256.
 */
function keyHash(kind: "user" | "client", value: string): string {
  return createHash("sha256").update(kind).update("\0").update(value.slice(0, 256)).digest("hex");
}
