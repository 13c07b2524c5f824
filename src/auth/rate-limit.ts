/**
 * Login attempts: how many guesses may be evaluated per user name and per client address. Behind an
 * interface because the state is per process today; a multi-node registry keeps it in the database.
 */
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
  failed(): void;
  /**
   * The credentials were right: the reservation is released. Failures stay counted for the window:
   * forgetting them would hand whoever is guessing a fresh allowance each time the owner (or a CI job
   * logging in before every step) gets in.
   */
  succeeded(): void;
}

interface KeyState {
  /** When each counted failure happened. */
  failures: number[];
  /** Attempts being evaluated now: they count against the limit until they end. */
  pending: number;
  /** Attempts waiting for a pending one to end (the limit would be reached if all failed). */
  waiters: (() => void)[];
}

/**
 * Counts failures per key in a sliding window. An attempt may start only while failures plus pending
 * attempts stay below the limit; one that would pass it waits until a pending attempt ends (a right
 * password frees the slot, a wrong one fills it), so at most `limit` guesses per key are ever checked
 * per window, however many arrive at once, while parallel logins with the right password all succeed.
 */
export class FailureLimiter implements LoginLimiter {
  private readonly user: Map<string, KeyState> = new Map();
  private readonly client: Map<string, KeyState> = new Map();

  constructor(
    private readonly userLimit: number,
    private readonly clientLimit: number,
    private readonly windowMs: number,
  ) {}

  async begin(name: string, client: string): Promise<LoginAttempt | { retryAfterSeconds: number }> {
    for (;;) {
      const at = Date.now();
      const user = this.state(this.user, name, at);
      const address = this.state(this.client, client, at);
      const locked = Math.max(
        this.lockedFor(user, this.userLimit, at),
        this.lockedFor(address, this.clientLimit, at),
      );
      if (locked > 0) return { retryAfterSeconds: Math.max(1, Math.ceil(locked / 1000)) };
      const full = (
        [
          [user, this.userLimit],
          [address, this.clientLimit],
        ] as const
      ).find(([state, limit]) => state.failures.length + state.pending >= limit);
      if (full) {
        await new Promise<void>((wake) => full[0].waiters.push(wake));
        continue;
      }
      // No await between the check above and this reservation: it is atomic in this process.
      user.pending++;
      address.pending++;
      let ended = false;
      const end = (failed: boolean) => {
        if (ended) return;
        ended = true;
        const now = Date.now();
        for (const state of [user, address]) {
          state.pending--;
          if (failed) state.failures.push(now);
        }
        for (const state of [user, address]) state.waiters.splice(0).forEach((wake) => wake());
        this.forgetIdle(this.user, name, user);
        this.forgetIdle(this.client, client, address);
      };
      return { failed: () => end(true), succeeded: () => end(false) };
    }
  }

  /** Milliseconds until the oldest counted failure leaves the window, when the key is at its limit. */
  private lockedFor(state: KeyState, limit: number, at: number): number {
    if (state.failures.length < limit) return 0;
    const oldest = state.failures[state.failures.length - limit] ?? at;
    return oldest + this.windowMs - at;
  }

  private state(map: Map<string, KeyState>, key: string, at: number): KeyState {
    let state = map.get(key);
    if (!state) {
      if (map.size > 100_000) this.prune(map, at);
      state = { failures: [], pending: 0, waiters: [] };
      map.set(key, state);
    }
    state.failures = state.failures.filter((t) => t > at - this.windowMs);
    return state;
  }

  private forgetIdle(map: Map<string, KeyState>, key: string, state: KeyState): void {
    if (state.pending === 0 && state.failures.length === 0 && state.waiters.length === 0) map.delete(key);
  }

  /** Bounds memory under a flood of distinct keys. */
  private prune(map: Map<string, KeyState>, at: number): void {
    for (const [key, state] of map) {
      if (
        state.pending === 0 &&
        state.waiters.length === 0 &&
        state.failures.every((t) => t <= at - this.windowMs)
      ) {
        map.delete(key);
      }
    }
  }
}
