import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { RegistryError } from "../../oci/errors.js";
import type { TokenService, Grant } from "../../auth/token-service.js";
import { LoginError } from "../../auth/errors.js";
import { actorName } from "../../auth/identity.js";
import { parseScopes } from "../../auth/scopes.js";
import type { AuditLog } from "../../registry/audit.js";
import { lockedOut, presentedCredentials } from "../access.js";
import { readLimitedBody } from "../request-body.js";
import { noteIdentity } from "../request-log.js";

const MAX_FORM_BYTES = 64 * 1024;

/**
 * The Docker token endpoint: GET with Basic credentials or none (anonymous), and POST with the
 * OAuth2 password and refresh-token grants that docker, podman and containerd use.
 */
export function registerTokenRoutes(app: FastifyInstance, tokens: TokenService, audit: AuditLog): void {
  app.get("/auth/token", async (request, reply) => {
    const query = request.query as Record<string, string | string[] | undefined>;
    const presented = presentedCredentials(request.headers.authorization);
    if (presented.scheme === "bearer") {
      throw new RegistryError("UNAUTHORIZED", "the token endpoint takes Basic credentials or none");
    }
    const grant: Grant =
      presented.scheme === "basic"
        ? { kind: "password", username: presented.username, password: presented.password }
        : { kind: "anonymous" };
    return issue(request, reply, grant, list(query.scope), first(query.offline_token) === "true");
  });

  app.post("/auth/token", async (request, reply) => {
    const form = new URLSearchParams((await readLimitedBody(request.raw, MAX_FORM_BYTES)).toString("utf8"));
    const grantType = form.get("grant_type");
    let grant: Grant;
    if (grantType === "password") {
      grant = {
        kind: "password",
        username: form.get("username") ?? "",
        password: form.get("password") ?? "",
      };
    } else if (grantType === "refresh_token") {
      grant = { kind: "refresh", refreshToken: form.get("refresh_token") ?? "" };
    } else {
      return reply.code(400).send({
        error: "unsupported_grant_type",
        error_description: "grant_type must be password or refresh_token",
      });
    }
    const offline = form.get("access_type") === "offline" || grant.kind === "refresh";
    return issue(request, reply, grant, form.getAll("scope"), offline);
  });

  async function issue(
    request: FastifyRequest,
    reply: FastifyReply,
    grant: Grant,
    scopes: string[],
    offline: boolean,
  ): Promise<unknown> {
    const client = request.ip;
    try {
      const issued = await tokens.issue({ grant, scopes: parseScopes(scopes), offline, client });
      noteIdentity(request, issued.identity);
      if (grant.kind !== "anonymous") await audit.recordLogin(actorName(issued.identity), client, "ok");
      reply.header("Cache-Control", "no-store");
      return reply.send({
        token: issued.token,
        access_token: issued.token,
        expires_in: issued.expiresIn,
        issued_at: issued.issuedAt,
        ...(issued.refreshToken ? { refresh_token: issued.refreshToken } : {}),
      });
    } catch (err) {
      if (!(err instanceof LoginError)) throw err;
      const attempted = grant.kind === "password" ? grant.username : "(refresh token)";
      await audit.recordLogin(attempted.slice(0, 80), client, "failed", { reason: err.failure });
      if (err.reason === "rate_limited") throw lockedOut(reply, err);
      throw new RegistryError("UNAUTHORIZED", err.message);
    }
  }
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
