import { setMaxListeners } from "node:events";
import { TimeoutError } from "./errors.js";

/**
 * When a command gives up (`--timeout`): its signal aborts whatever request, body or backoff is in
 * flight at that moment, with a TimeoutError as the reason. Requests may also get a shorter budget of
 * their own (`within`), e.g. to fall back to the cache quickly when a registry does not answer.
 */
export class Deadline {
  readonly signal: AbortSignal;

  private constructor(
    signal: AbortSignal,
    /** The whole budget, for messages; undefined when the command may run for ever. */
    readonly ms: number | undefined,
  ) {
    this.signal = signal;
  }

  /** A deadline `ms` from now (undefined or 0: none). The timer does not keep the process alive. */
  static after(ms: number | undefined): Deadline {
    const controller = new AbortController();
    // Every request and body in flight listens (many at once with --concurrency): not a leak.
    setMaxListeners(0, controller.signal);
    if (ms !== undefined && ms > 0) {
      setTimeout(
        () =>
          controller.abort(
            new TimeoutError(`gave up after ${formatMs(ms)} (--timeout ${formatMs(ms)})`, "command"),
          ),
        ms,
      ).unref();
    }
    return new Deadline(controller.signal, ms || undefined);
  }

  /**
   * A signal that fires at this deadline or `ms` from now, whichever is first; `dispose` when the
   * request it guards has its answer.
   */
  within(ms: number | undefined): { signal: AbortSignal; dispose(): void } {
    if (ms === undefined) return { signal: this.signal, dispose: () => undefined };
    const controller = new AbortController();
    const forward = () => controller.abort(this.signal.reason);
    if (this.signal.aborted) forward();
    else this.signal.addEventListener("abort", forward, { once: true });
    const timer = setTimeout(
      () => controller.abort(new TimeoutError(`did not answer within ${formatMs(ms)}`, "request")),
      ms,
    ).unref();
    return {
      signal: controller.signal,
      dispose: () => {
        clearTimeout(timer);
        this.signal.removeEventListener("abort", forward);
      },
    };
  }

  /** Waits `ms` (a retry's backoff), or fails with the deadline's reason when it comes first. */
  pause(ms: number, signal: AbortSignal = this.signal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** 30000 → "30s", 600000 → "10m", 1500 → "1.5s". */
export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
