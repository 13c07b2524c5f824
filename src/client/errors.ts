/**
 * Client failures, each with the exit code the CLI reports for it, so scripts can tell a missing
 * artifact from bad credentials from a corrupt download without parsing messages.
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  NotFound: 3,
  Auth: 4,
  Integrity: 5,
  UnsafeContent: 6,
  Unreachable: 7,
  ImmutableTag: 8,
  /** `wharf lock --check`: the files or the registry no longer agree with the lock file. */
  Drift: 9,
  /** `wharf verify`, `pull --verify-key`: no trusted key signed the artifact's digest. */
  Unverified: 10,
} as const;

export class WharfError extends Error {
  readonly exitCode: number = ExitCode.Failure;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad reference, flag or argument. */
export class UsageError extends WharfError {
  override readonly exitCode = ExitCode.Usage;
}

/** The registry (or layout, or cache) does not have the repository, manifest, tag or blob. */
export class NotFoundError extends WharfError {
  override readonly exitCode = ExitCode.NotFound;
}

/** Credentials missing or refused, or access denied. */
export class AuthError extends WharfError {
  override readonly exitCode = ExitCode.Auth;
}

/** Content that does not match its digest or size: a misbehaving server, a truncated transfer, a corrupt file. */
export class IntegrityError extends WharfError {
  override readonly exitCode = ExitCode.Integrity;
}

/** An archive or artifact that would write outside its target, or create devices: refused, nothing written. */
export class UnsafeContentError extends WharfError {
  override readonly exitCode = ExitCode.UnsafeContent;
}

/** The registry could not be reached at all (DNS, refused connection, TLS failure). */
export class UnreachableError extends WharfError {
  override readonly exitCode = ExitCode.Unreachable;
}

/** The registry accepted the connection but did not answer in time (or the command's --timeout ran out). */
export class TimeoutError extends UnreachableError {
  constructor(
    message: string,
    /** Whose limit ran out: the command's (--timeout) or one request's own. */
    readonly budget: "command" | "request" = "request",
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A version tag would move to another digest: refused before anything was written (the client's guard,
 * which `force` / `--force` overrides).
 */
export class ImmutableTagError extends WharfError {
  override readonly exitCode = ExitCode.ImmutableTag;
}

/**
 * No signature by a trusted key (or trust-store certificate) covers the artifact's digest: `wharf verify`
 * and `pull --verify-key` refuse it (nothing is written).
 */
export class UnverifiedError extends WharfError {
  override readonly exitCode = ExitCode.Unverified;
}

/** A registry answered with an error we have no better class for (5xx after retries, 4xx we do not expect). */
export class RegistryResponseError extends WharfError {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
