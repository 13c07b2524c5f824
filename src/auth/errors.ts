/** Why a login failed; the HTTP layer turns each into the same answer for unknown and known names. */
export class LoginError extends Error {
  constructor(
    readonly reason: "invalid" | "rate_limited",
    message: string,
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
