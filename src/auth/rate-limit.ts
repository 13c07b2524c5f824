/**
 * Counts failed logins per key (a user name, a client address) in a sliding window. Keys over the
 * limit are refused until old failures leave the window, whether or not the name exists.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  blocked(key: string, at = Date.now()): boolean {
    return this.recent(key, at).length >= this.limit;
  }

  fail(key: string, at = Date.now()): void {
    const list = this.recent(key, at);
    list.push(at);
    this.failures.set(key, list);
    if (this.failures.size > 100_000) this.prune(at);
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string, at: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > at - this.windowMs);
  }

  /** Bounds memory under a flood of distinct keys. */
  private prune(at: number): void {
    for (const [key, list] of this.failures) {
      if (list.every((t) => t <= at - this.windowMs)) this.failures.delete(key);
    }
  }
}
