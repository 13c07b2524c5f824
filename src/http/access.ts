import type { FastifyReply, FastifyRequest } from "fastify";
import { RegistryError } from "../oci/errors.js";
import type { Authenticator } from "../auth/authenticator.js";
import { LoginError } from "../auth/errors.js";
import { actorName, ANONYMOUS, type Identity } from "../auth/identity.js";
import type { RepositoryAction } from "../auth/scopes.js";
import { actionsCover, formatScope, type AccessEntry } from "../auth/scopes.js";
import { InvalidTokenError, type TokenIssuer } from "../auth/tokens.js";
import type { AuditLog } from "../registry/audit.js";
import type { SessionService } from "../auth/sessions.js";
import { recordRefusal, refuseLogin } from "./refusals.js";
import { noteIdentity } from "./request-log.js";
import { sessionCookie } from "./session-cookie.js";

/** What a route needs: any valid credentials (`/v2/`), the catalog, or an action on its repository. */
export type Requirement = "login" | "catalog" | RepositoryAction;

export interface AuthSettings {
  /** The token endpoint's public URL; by default derived from the request's Host. */
  realm: string | undefined;
  service: string;
}

/** Who made a request and what they may do: used by routes for mounts and catalog filtering. */
export interface RequestAccess {
  identity: Identity;
  /** For the audit log: the account name, or `anonymous`. */
  actor: string;
  client: string;
  /** False in open (developer) mode, where everyone may do everything. */
  restricted: boolean;
  /** Whether this request may pull from another repository (a mount's source): token and rules agree. */
  mayPull(repository: string): Promise<boolean>;
  /** Whether the account may pull a repository at all (catalog listings, whatever the token's scopes). */
  mayList(repository: string): boolean;
}

const OPEN_ACCESS = (client: string): RequestAccess => ({
  identity: ANONYMOUS,
  actor: "anonymous",
  client,
  restricted: false,
  mayPull: async () => true,
  mayList: () => true,
});

/** Credentials from an Authorization header. */
type Presented =
  | { scheme: "none" }
  | { scheme: "basic"; username: string; password: string }
  | { scheme: "bearer"; token: string };

export function presentedCredentials(header: string | undefined): Presented {
  if (!header) return { scheme: "none" };
  const space = header.indexOf(" ");
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer" && value) return { scheme: "bearer", token: value };
  if (scheme === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0)
      return { scheme: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  throw new RegistryError("UNAUTHORIZED", "malformed Authorization header");
}

/**
 * Checks every API request against the Docker token flow: no credentials get a `Bearer` challenge
 * naming the scope needed; tokens must carry that scope and belong to a live account; Basic
 * credentials are accepted directly too. Current rules are applied on top of a token's grants, so
 * a removed rule or revoked robot stops working at once.
 */
export class AccessGuard {
  constructor(
    private readonly authenticator: Authenticator,
    readonly tokens: TokenIssuer,
    private readonly settings: AuthSettings,
    /** Where refusals and failed logins are recorded (bounded there). */
    private readonly audit?: Pick<AuditLog, "recordDenied" | "recordLogin">,
    /** Web UI sessions: honoured by `reader` only (the registry API takes no ambient credentials). */
    private readonly sessions?: Pick<SessionService, "resolve">,
  ) {}

  /**
   * The token endpoint's URL: the configured `auth.realm`, or one built from the request's Host when
   * that is a plain host[:port] (anything else could smuggle text into the challenge).
   */
  realm(request: FastifyRequest): string {
    if (this.settings.realm) return this.settings.realm;
    const host = request.headers.host ?? "localhost";
    if (!isHostHeader(host)) {
      throw new RegistryError("INVALID_REQUEST", "invalid Host header: expected host[:port]");
    }
    return `${request.protocol}://${host}/auth/token`;
  }

  /**
   * The caller of a read-only listing (the discovery API): no credentials mean the anonymous identity
   * (what `anonymous` rules grant) rather than a challenge; credentials are checked as for `/v2/`, and
   * a web UI session's cookie (without an Authorization header) is its user's. What the caller may see
   * is then decided per repository by `mayPull`, as for a pull. An ended session reads as anonymous.
   */
  async reader(request: FastifyRequest, reply: FastifyReply): Promise<RequestAccess> {
    if (!(await this.authenticator.isEnabled())) return OPEN_ACCESS(request.ip);
    if (request.headers.authorization) return this.check(request, reply, "login", "");
    const session = await this.sessions?.resolve(sessionCookie(request));
    const identity: Identity = session?.identity ?? ANONYMOUS;
    if (session) noteIdentity(request, identity);
    const policy = await this.authenticator.policy();
    return {
      identity,
      actor: actorName(identity),
      client: request.ip,
      restricted: !(identity.kind === "user" && identity.admin),
      mayPull: async (repository) => policy.can(identity, repository, "pull"),
      mayList: (repository) => policy.can(identity, repository, "pull"),
    };
  }

  async check(
    request: FastifyRequest,
    reply: FastifyReply,
    requirement: Requirement,
    repository: string,
  ): Promise<RequestAccess> {
    const client = request.ip;
    if (!(await this.authenticator.isEnabled())) return OPEN_ACCESS(client);
    const scope = this.scopeFor(requirement, repository);
    let presented: Presented;
    try {
      presented = presentedCredentials(request.headers.authorization);
    } catch (err) {
      throw this.challenge(request, reply, scope, "invalid_token", (err as Error).message);
    }
    if (presented.scheme === "none") {
      throw this.challenge(request, reply, scope, undefined, "authentication required");
    }

    let identity: Identity;
    let tokenAccess: AccessEntry[] | undefined;
    if (presented.scheme === "bearer") {
      try {
        const verified = await this.tokens.verifyAccess(presented.token);
        const current = await this.authenticator.identityFor(verified.subject);
        if (!current) throw new InvalidTokenError("the token's account was removed, revoked or has expired");
        identity = current;
        tokenAccess = verified.access;
      } catch (err) {
        if (!(err instanceof InvalidTokenError)) throw err;
        throw this.challenge(request, reply, scope, "invalid_token", err.message);
      }
    } else {
      try {
        identity = await this.authenticator.loginCached(presented.username, presented.password, client);
      } catch (err) {
        if (!(err instanceof LoginError)) throw err;
        const attempt = { name: presented.username, client, via: "basic" };
        throw await refuseLogin(this.audit, reply, err, attempt, () =>
          this.challenge(request, reply, scope, undefined, err.message),
        );
      }
    }
    await this.authenticator.noteUse(identity);
    noteIdentity(request, identity);

    const policy = await this.authenticator.policy();
    const access: RequestAccess = {
      identity,
      actor: actorName(identity),
      client,
      restricted: !(identity.kind === "user" && identity.admin),
      mayPull: async (other) =>
        (tokenAccess === undefined || tokenCovers(tokenAccess, "repository", other, "pull")) &&
        policy.can(identity, other, "pull"),
      mayList: (other) => policy.can(identity, other, "pull"),
    };
    if (requirement === "login") return access;
    if (requirement === "catalog") {
      if (tokenAccess === undefined || tokenCovers(tokenAccess, "registry", "catalog", "*")) return access;
      await this.denied(access, "catalog", undefined, "the token does not grant the catalog");
      throw this.challenge(
        request,
        reply,
        scope,
        "insufficient_scope",
        "the token does not grant the catalog",
      );
    }
    const allowed =
      (tokenAccess === undefined || tokenCovers(tokenAccess, "repository", repository, requirement)) &&
      policy.can(identity, repository, requirement);
    if (allowed) return access;
    await this.denied(access, `repository.${requirement}`, repository, `${presented.scheme} credentials`);
    if (presented.scheme === "bearer") {
      throw this.challenge(request, reply, scope, "insufficient_scope", "access to the resource is denied");
    }
    throw new RegistryError("DENIED", "requested access to the resource is denied", {
      repository,
      action: requirement,
    });
  }

  private denied(
    access: RequestAccess,
    action: string,
    repository: string | undefined,
    reason: string,
  ): Promise<void> {
    return recordRefusal(this.audit, {
      actor: access.actor,
      client: access.client,
      action,
      repository,
      reason,
    });
  }

  private scopeFor(requirement: Requirement, repository: string): string | undefined {
    if (requirement === "login") return undefined;
    if (requirement === "catalog") return "registry:catalog:*";
    // A push needs pull too (clients check for existing blobs), as Distribution asks.
    const actions = requirement === "push" ? ["pull", "push"] : [requirement];
    return formatScope({ type: "repository", name: repository, actions });
  }

  /** Sets the challenge header and returns the 401 error to throw. */
  challenge(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: string | undefined,
    error: "invalid_token" | "insufficient_scope" | undefined,
    message: string,
  ): RegistryError {
    const params = [`realm=${quote(this.realm(request))}`, `service=${quote(this.settings.service)}`];
    if (scope) params.push(`scope=${quote(scope)}`);
    if (error) params.push(`error=${quote(error)}`);
    reply.header("WWW-Authenticate", `Bearer ${params.join(",")}`);
    return new RegistryError("UNAUTHORIZED", message);
  }
}

/** An RFC 9110 quoted-string: a quote or backslash inside cannot end the value early. */
export function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

/** `name`, `name:port`, `[v6]:port`: what a Host header may hold (RFC 9110 uri-host without userinfo). */
function isHostHeader(host: string): boolean {
  return host.length <= 261 && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/.test(host);
}

function tokenCovers(access: AccessEntry[], type: string, name: string, action: string): boolean {
  return access.some((e) => e.type === type && e.name === name && actionsCover(e.actions, action));
}
