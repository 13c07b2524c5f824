import { randomUUID } from "node:crypto";
import { jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { Identity } from "./identity.js";
import type { AccessEntry } from "./scopes.js";
import { TOKEN_ALGORITHM, type SigningKey } from "./keys.js";

export interface TokenSettings {
  /** `iss` of every token, checked on the way back in. */
  issuer: string;
  /** `aud`: the registry's service name, as in the `WWW-Authenticate` challenge. */
  service: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** Who a token was issued to: enough to check at use that the account still exists and is valid. */
export interface TokenSubject {
  kind: Identity["kind"];
  name: string;
  /** The user's password version (refresh tokens die with a password change). */
  version?: number;
  /** When the account was created: a token for an earlier account of the same name is someone else's. */
  accountCreatedAt?: string;
}

export interface VerifiedAccessToken {
  subject: TokenSubject;
  access: AccessEntry[];
}

interface WharfClaims extends JWTPayload {
  access?: unknown;
  kind?: unknown;
  ver?: unknown;
  use?: unknown;
  acc?: unknown;
}

/** A token that cannot be used: forged, expired, for another audience, or of the wrong kind. */
export class InvalidTokenError extends Error {}

/**
 * Docker-token-spec JWTs: `access` lists what was granted; `kind` and `use` are ours (account kind,
 * access or refresh). Verification pins the algorithm, the key, issuer, audience and expiry.
 */
export class TokenIssuer {
  constructor(
    private readonly key: SigningKey,
    readonly settings: TokenSettings,
  ) {}

  async issueAccess(
    subject: TokenSubject,
    access: AccessEntry[],
  ): Promise<{ token: string; expiresIn: number }> {
    const expiresIn = this.settings.accessTtlSeconds;
    const claims: WharfClaims = { access, kind: subject.kind, use: "access" };
    if (subject.accountCreatedAt !== undefined) claims.acc = subject.accountCreatedAt;
    const token = await this.sign(claims, subject, expiresIn);
    return { token, expiresIn };
  }

  async issueRefresh(subject: TokenSubject): Promise<string> {
    const claims: WharfClaims = { kind: subject.kind, use: "refresh" };
    if (subject.version !== undefined) claims.ver = subject.version;
    if (subject.accountCreatedAt !== undefined) claims.acc = subject.accountCreatedAt;
    return this.sign(claims, subject, this.settings.refreshTtlSeconds);
  }

  async verifyAccess(token: string): Promise<VerifiedAccessToken> {
    const claims = await this.verify(token, "access");
    return { subject: subjectFromClaims(claims), access: accessOf(claims.access) };
  }

  async verifyRefresh(token: string): Promise<TokenSubject> {
    return subjectFromClaims(await this.verify(token, "refresh"));
  }

  private async sign(claims: WharfClaims, subject: TokenSubject, ttlSeconds: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: this.key.id, typ: "JWT" })
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.service)
      .setSubject(subject.name)
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
  }

  private async verify(token: string, use: "access" | "refresh"): Promise<WharfClaims> {
    let payload: WharfClaims;
    try {
      ({ payload } = await jwtVerify<WharfClaims>(token, this.key.publicKey, {
        algorithms: [TOKEN_ALGORITHM],
        issuer: this.settings.issuer,
        audience: this.settings.service,
        requiredClaims: ["exp", "iat", "sub"],
        clockTolerance: 5,
      }));
    } catch (err) {
      throw new InvalidTokenError(`invalid token: ${(err as Error).message}`);
    }
    if (payload.use !== use) throw new InvalidTokenError(`invalid token: not an ${use} token`);
    return payload;
  }
}

function subjectFromClaims(claims: WharfClaims): TokenSubject {
  const kind = claims.kind;
  if (kind !== "anonymous" && kind !== "user" && kind !== "robot") {
    throw new InvalidTokenError("invalid token: unknown account kind");
  }
  const subject: TokenSubject = { kind, name: claims.sub ?? "" };
  if (typeof claims.ver === "number") subject.version = claims.ver;
  if (typeof claims.acc === "string") subject.accountCreatedAt = claims.acc;
  return subject;
}

function accessOf(value: unknown): AccessEntry[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (e): e is AccessEntry =>
      typeof e === "object" &&
      e !== null &&
      typeof (e as AccessEntry).type === "string" &&
      typeof (e as AccessEntry).name === "string" &&
      Array.isArray((e as AccessEntry).actions) &&
      (e as AccessEntry).actions.every((a) => typeof a === "string"),
  );
}
