import type { FastifyReply, FastifyRequest } from "fastify";
import { RegistryError } from "../oci/errors.js";
import type { Authenticator } from "../auth/authenticator.js";
import { LoginError } from "../auth/errors.js";
import type { Identity } from "../auth/identity.js";
import { InvalidTokenError, type TokenIssuer } from "../auth/tokens.js";
import { presentedCredentials } from "./access.js";
import { noteIdentity } from "./request-log.js";

export type Account = Exclude<Identity, { kind: "anonymous" }>;

/**
 * Who calls the admin API: Basic credentials (what `wharf login` saved) or a registry access token.
 * Only accounts, never anonymous; open (developer-mode) registries have no admin API.
 */
export async function adminCaller(
  authenticator: Authenticator,
  tokens: TokenIssuer,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Account> {
  if (!(await authenticator.isEnabled())) {
    throw new RegistryError(
      "DENIED",
      "authentication is not enabled on this registry: create the first administrator with " +
        "`wharf user add NAME --admin --data-dir DIR`",
    );
  }
  const unauthorized = (message: string) => {
    reply.header("WWW-Authenticate", 'Basic realm="wharf"');
    return new RegistryError("UNAUTHORIZED", message);
  };
  const presented = presentedCredentials(request.headers.authorization);
  let identity: Identity | undefined;
  if (presented.scheme === "basic") {
    try {
      identity = await authenticator.loginCached(presented.username, presented.password, request.ip);
    } catch (err) {
      if (!(err instanceof LoginError)) throw err;
      if (err.reason === "rate_limited") throw new RegistryError("TOOMANYREQUESTS", err.message);
      throw unauthorized(err.message);
    }
  } else if (presented.scheme === "bearer") {
    try {
      identity = await authenticator.identityFor((await tokens.verifyAccess(presented.token)).subject);
    } catch (err) {
      if (!(err instanceof InvalidTokenError)) throw err;
      throw unauthorized(err.message);
    }
  }
  if (!identity || identity.kind === "anonymous") throw unauthorized("authentication required");
  noteIdentity(request, identity);
  return identity;
}

export function requireAdmin(account: Account): void {
  if (account.kind !== "user" || !account.admin) {
    throw new RegistryError("DENIED", "this needs an administrator");
  }
}
