import type { Authenticator } from "./authenticator.js";
import { subjectOfIdentity } from "./authenticator.js";
import { LoginError } from "./errors.js";
import { ANONYMOUS, type Identity } from "./identity.js";
import { requireScopeNames, type AccessEntry } from "./scopes.js";
import { InvalidTokenError, type TokenIssuer } from "./tokens.js";

export type Grant =
  | { kind: "anonymous" }
  | { kind: "password"; username: string; password: string }
  | { kind: "refresh"; refreshToken: string };

export interface TokenRequest {
  grant: Grant;
  scopes: AccessEntry[];
  /** The client wants a refresh token (`offline_token=true`, `access_type=offline`). */
  offline: boolean;
  client: string;
}

export interface IssuedToken {
  identity: Identity;
  token: string;
  expiresIn: number;
  issuedAt: string;
  refreshToken?: string;
}

/** The token endpoint's logic: authenticate the grant, grant the allowed part of each scope, sign. */
export class TokenService {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly issuer: TokenIssuer,
  ) {}

  async issue(request: TokenRequest): Promise<IssuedToken> {
    // Checked before the password hash and before any rule sees the names.
    requireScopeNames(request.scopes);
    const identity = await this.identify(request);
    const access = await this.authenticator.grant(identity, request.scopes);
    const subject = subjectOfIdentity(identity);
    const { token, expiresIn } = await this.issuer.issueAccess(subject, access);
    const issued: IssuedToken = { identity, token, expiresIn, issuedAt: new Date().toISOString() };
    if (request.offline && identity.kind !== "anonymous") {
      issued.refreshToken = await this.issuer.issueRefresh(subject);
    }
    await this.authenticator.noteUse(identity);
    return issued;
  }

  private async identify(request: TokenRequest): Promise<Identity> {
    const grant = request.grant;
    if (grant.kind === "anonymous") return ANONYMOUS;
    if (grant.kind === "password")
      return this.authenticator.login(grant.username, grant.password, request.client);
    let identity: Identity | undefined;
    try {
      identity = await this.authenticator.identityForRefresh(
        await this.issuer.verifyRefresh(grant.refreshToken),
      );
    } catch (err) {
      if (!(err instanceof InvalidTokenError)) throw err;
    }
    if (!identity) {
      throw new LoginError(
        "invalid",
        "the refresh token is invalid, expired or revoked",
        "invalid_refresh_token",
      );
    }
    return identity;
  }
}
