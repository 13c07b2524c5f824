/** Why a login really failed: for the audit log (administrators) only, never for the client. */
export type LoginFailure =
  "unknown_account" | "wrong_password" | "revoked" | "expired" | "locked_out" | "invalid_refresh_token";

/** Why a login failed; the HTTP layer turns each into the same answer for unknown and known names. */
export class LoginError extends Error {
  constructor(
    readonly reason: "invalid" | "rate_limited",
    message: string,
    /** The precise cause, for the audit log. */
    readonly failure: LoginFailure,
    /** For `rate_limited`: when the lockout ends (`Retry-After`). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A management request that cannot be carried out (bad input, unknown or duplicate account). */
export class AccountError extends Error {
  constructor(
    readonly kind: "invalid" | "not_found" | "conflict",
    message: string,
  ) {
    super(message);
  }
}
