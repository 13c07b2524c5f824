import type { FastifyReply, FastifyRequest } from "fastify";
import { RegistryError } from "../oci/errors.js";
import { LoginError } from "../auth/errors.js";
import { actorName, type Identity } from "../auth/identity.js";
import { ADMIN_SCOPE, tokenGrantsAdmin } from "../auth/scopes.js";
import { InvalidTokenError } from "../auth/tokens.js";
import { csrfMatches } from "../auth/sessions.js";
import { presentedCredentials } from "./access.js";
import { recordRefusal, refuseLogin } from "./refusals.js";
import { hasBody } from "./request-body.js";
import type { Services } from "./server.js";
import { noteIdentity } from "./request-log.js";
import { CSRF_HEADER, sessionCookie } from "./session-cookie.js";

export type Account = Exclude<Identity, { kind: "anonymous" }>;

export interface CallerOptions {
  /** Any valid access token will do (`whoami`): the route returns no data and changes nothing. */
  anyToken: boolean;
}

/**
 * Who calls the admin API. It accepts only credentials meant for it: Basic credentials of a user
 * (what `wharf login` saved), an access token granted the `registry:admin:*` scope (which the
 * token service gives administrators only), or a web UI session together with its CSRF header. A
 * repository token never reaches it, robots never do, and other sites are kept out: no cross-site
 * requests, no bodies a form could send, no `Basic` challenge that would make a browser prompt for
 * and cache credentials, and no session cookie alone (the browser sends that by itself).
 */
export async function adminCaller(
  services: Pick<Services, "authenticator" | "guard" | "audit" | "sessions">,
  request: FastifyRequest,
  reply: FastifyReply,
  options: CallerOptions,
): Promise<Account> {
  const { authenticator, guard, audit } = services;
  rejectCrossSite(request, guard.realm(request));
  requireJsonBody(request);
  if (!(await authenticator.isEnabled())) {
    throw new RegistryError(
      "DENIED",
      "authentication is not enabled on this registry: create the first administrator with " +
        "`wharf user add NAME --admin --data-dir DIR`",
    );
  }
  const unauthorized = (message: string, error?: "invalid_token") =>
    guard.challenge(request, reply, ADMIN_SCOPE, error, message);
  const cookie = request.headers.authorization ? undefined : sessionCookie(request);
  if (cookie !== undefined) {
    const session = await services.sessions.resolve(cookie);
    if (!session) throw unauthorized("the session has ended or expired: sign in again");
    noteIdentity(request, session.identity);
    if (!csrfMatches(session, request.headers[CSRF_HEADER])) {
      await denied(services, request, session.identity, "session without its CSRF header");
      throw new RegistryError("DENIED", "missing or wrong X-Wharf-CSRF header");
    }
    return session.identity;
  }
  let presented: ReturnType<typeof presentedCredentials>;
  try {
    presented = presentedCredentials(request.headers.authorization);
  } catch (err) {
    throw unauthorized((err as Error).message, "invalid_token");
  }
  let identity: Identity | undefined;
  if (presented.scheme === "basic") {
    try {
      identity = await authenticator.loginCached(presented.username, presented.password, request.ip);
    } catch (err) {
      if (!(err instanceof LoginError)) throw err;
      const attempt = { name: presented.username, client: request.ip, via: "admin-api" };
      throw await refuseLogin(audit, reply, err, attempt, () => unauthorized(err.message));
    }
  } else if (presented.scheme === "bearer") {
    let granted: boolean;
    try {
      const verified = await guard.tokens.verifyAccess(presented.token);
      identity = await authenticator.identityFor(verified.subject);
      granted = tokenGrantsAdmin(verified.access);
    } catch (err) {
      if (!(err instanceof InvalidTokenError)) throw err;
      throw unauthorized(err.message, "invalid_token");
    }
    if (!identity)
      throw unauthorized("the token's account was removed, revoked or has expired", "invalid_token");
    noteIdentity(request, identity);
    if (identity.kind !== "robot" && !granted && !options.anyToken) {
      await denied(services, request, identity, "the token lacks the admin scope");
      throw new RegistryError(
        "DENIED",
        `this token does not grant the admin API: request the ${ADMIN_SCOPE} scope, or use Basic credentials`,
      );
    }
  }
  if (!identity || identity.kind === "anonymous") throw unauthorized("authentication required");
  noteIdentity(request, identity);
  if (identity.kind === "robot") {
    await denied(services, request, identity, "robot");
    throw new RegistryError("DENIED", "robots cannot use the admin API");
  }
  return identity;
}

export async function requireAdmin(
  services: Pick<Services, "audit">,
  request: FastifyRequest,
  account: Account,
): Promise<void> {
  if (account.kind !== "user" || !account.admin) {
    await denied(services, request, account, "not an administrator");
    throw new RegistryError("DENIED", "this needs an administrator");
  }
}

/** A refused admin call, for the audit log (bounded there against floods). */
function denied(
  services: Pick<Services, "audit">,
  request: FastifyRequest,
  identity: Identity,
  reason: string,
): Promise<void> {
  return recordRefusal(services.audit, {
    actor: actorName(identity),
    client: request.ip,
    action: "admin.api",
    target: `${request.method} ${request.routeOptions.url ?? ""}`,
    reason,
  });
}

/**
 * Cross-site request forgery: a page elsewhere can make a browser send requests here with cached
 * credentials. Browsers say where a request comes from (`Origin`, `Sec-Fetch-Site`); the CLI sends
 * neither. Only the server's own origin (its Host, or the configured realm's) passes.
 */
export function rejectCrossSite(request: FastifyRequest, realm: string): void {
  const site = request.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") {
    throw new RegistryError("DENIED", "cross-site requests to the admin API are refused");
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (!host || (host !== request.headers.host && host !== new URL(realm).host)) {
    throw new RegistryError("DENIED", `requests from the origin ${origin.slice(0, 200)} are refused`);
  }
}

/** Only JSON bodies: a form or `text/plain` body is what a cross-site form can send without CORS. */
export function requireJsonBody(request: FastifyRequest): void {
  const carriesBody = ["POST", "PUT", "PATCH"].includes(request.method) || hasBody(request.raw);
  if (!carriesBody) return;
  const type = (request.headers["content-type"] ?? "").split(";", 1)[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new RegistryError(
      "UNSUPPORTED",
      "the admin API takes only Content-Type: application/json bodies",
      undefined,
      415,
    );
  }
}
