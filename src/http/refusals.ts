import type { FastifyReply } from "fastify";
import { RegistryError } from "../oci/errors.js";
import type { LoginError } from "../auth/errors.js";
import type { AuditLog } from "../registry/audit.js";

/** A login name as the audit log keeps it: whatever a client sent, cut to a bounded length. */
const MAX_AUDITED_NAME = 80;

/** Where a login was tried: the token endpoint, Basic credentials on the API, the admin API... */
export interface LoginAttempt {
  name: string;
  client: string;
  via: string;
}

/**
 * A refused login, the same everywhere one can happen: recorded with why it failed (for admins), and
 * answered 429 with `Retry-After` when the name or address is locked out, else with `otherwise`
 * (each caller has its own answer for wrong credentials: a challenge, UNAUTHORIZED or DENIED).
 */
export async function refuseLogin(
  audit: Pick<AuditLog, "recordLogin"> | undefined,
  reply: FastifyReply,
  err: LoginError,
  attempt: LoginAttempt,
  otherwise: () => RegistryError,
): Promise<RegistryError> {
  await audit?.recordLogin(attempt.name.slice(0, MAX_AUDITED_NAME), attempt.client, "failed", {
    reason: err.failure,
    via: attempt.via,
  });
  return err.reason === "rate_limited" ? lockedOut(reply, err) : otherwise();
}

/** The 429 for a locked-out login, with `Retry-After` saying when the lockout ends. */
function lockedOut(reply: FastifyReply, err: LoginError): RegistryError {
  if (err.retryAfterSeconds !== undefined) reply.header("Retry-After", String(err.retryAfterSeconds));
  return new RegistryError("TOOMANYREQUESTS", err.message, { retryAfterSeconds: err.retryAfterSeconds });
}

/** A refused request by a known caller: what was refused and why. */
export interface Refusal {
  actor: string;
  client: string;
  action: string;
  repository?: string;
  target?: string;
  reason: string;
  /** More of what was refused, recorded beside the reason (a `digest` folds repeats per artifact). */
  detail?: Record<string, unknown>;
}

/** Records a refused request (folded and bounded by the audit log's throttle). */
export function recordRefusal(
  audit: Pick<AuditLog, "recordDenied"> | undefined,
  refusal: Refusal,
): Promise<void> {
  const { reason, repository, target, detail, ...who } = refusal;
  return (
    audit?.recordDenied({
      ...who,
      ...(repository === undefined ? {} : { repository }),
      ...(target === undefined ? {} : { target }),
      detail: { reason, ...detail },
    }) ?? Promise.resolve()
  );
}
