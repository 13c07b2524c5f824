import { setTimeout as sleep } from "node:timers/promises";

export interface RetryOptions {
  /** Retries after the first attempt (so `retries: 3` is up to four attempts). */
  retries: number;
  /** First backoff; doubled on each retry, with jitter, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 4, baseDelayMs: 300, maxDelayMs: 10_000 };

/** Connection failures worth another try: the server or a proxy dropped us mid-way. */
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
  // Accepted but no answer: worth one more try (see isNoAnswer), not several.
  "ERESPONSETIMEOUT",
]);

/** Failures where the server is not there at all: retrying would only delay the answer (or the cache). */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  // No TCP (or TLS) connection within the connect timeout: a dropped SYN is a missing host.
  "ECONNECTTIMEOUT",
]);

export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isTransientNetworkError(err: unknown): boolean {
  const code = errorCode(err);
  if (code && TRANSIENT_CODES.has(code)) return true;
  return err instanceof Error && /socket hang up|aborted|premature close/i.test(err.message);
}

/** The registry took the request and never answered: retried once, since a hung server rarely recovers. */
export function isNoAnswer(err: unknown): boolean {
  return errorCode(err) === "ERESPONSETIMEOUT";
}

export function isUnreachableError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

export function isTlsError(err: unknown): boolean {
  const code = errorCode(err) ?? "";
  return /^(?:CERT_|ERR_SSL_|ERR_TLS_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code) || code.includes("CERT");
}

/** Statuses a well-behaved client retries: rate limiting and transient server trouble (not 501). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** Retry-After in seconds (the HTTP-date form too) → milliseconds, or undefined. */
export function retryAfterMs(retryAfter: string | undefined): number | undefined {
  if (retryAfter === undefined) return undefined;
  const text = retryAfter.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * Whether a 429/503 is worth waiting for: not when the server asks for longer than we would ever back
 * off (a login lockout, a quota), since waiting silently would only look like a hang.
 */
export function worthWaiting(options: RetryOptions, retryAfter: string | undefined): boolean {
  const ms = retryAfterMs(retryAfter);
  return ms === undefined || ms <= options.maxDelayMs;
}

/** How long to wait before retry number `attempt` (0-based), honouring a Retry-After in seconds. */
export function backoffDelay(options: RetryOptions, attempt: number, retryAfter?: string): number {
  if (retryAfter !== undefined && /^\d+$/.test(retryAfter.trim())) {
    return Math.min(Number(retryAfter) * 1000, options.maxDelayMs);
  }
  const exponential = Math.min(options.baseDelayMs * 2 ** attempt, options.maxDelayMs);
  return Math.round(exponential / 2 + (Math.random() * exponential) / 2);
}

export { sleep };
