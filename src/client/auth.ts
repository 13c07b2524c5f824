import type { Credentials } from "./docker-config.js";
import type { Challenge } from "./auth-challenge.js";
import { retryAfterMs } from "./retry.js";

/** A bearer token and when to stop using it. */
interface CachedToken {
  header: string;
  expiresAt: number;
}

/** Fetches a token from the realm of a Bearer challenge; returns undefined when the realm refuses. */
export type TokenFetcher = (request: TokenRequest) => Promise<TokenResponse>;

export interface TokenRequest {
  realm: URL;
  service: string | undefined;
  scopes: string[];
  credentials: Credentials | undefined;
  /** The deadline of the request this token is for. */
  signal?: AbortSignal;
}

export type TokenResponse =
  | { ok: true; token: string; expiresIn: number }
  /** A refusal, with the token service's own message and Retry-After when it sent them. */
  | { ok: false; status: number; message?: string; retryAfter?: string };

/**
 * Per-registry authorization state. Registries answer 401 with a challenge; Basic ones then take the
 * credentials on every request, Bearer ones want a token per set of scopes (Docker token spec), which we
 * cache until shortly before it expires.
 */
export class Authenticator {
  private scheme: "none" | "basic" | "bearer" = "none";
  /** A challenge was answered without credentials: what we may see is what anonymous may see. */
  anonymous = false;
  private readonly tokens = new Map<string, CachedToken>();
  private credentials: Promise<Credentials | undefined> | undefined;

  constructor(
    readonly host: string,
    private readonly loadCredentials: () => Promise<Credentials | undefined>,
    private readonly fetchToken: TokenFetcher,
  ) {}

  /** The Authorization header we already know works for these scopes, if any. */
  async cachedHeader(scopes: string[]): Promise<string | undefined> {
    if (this.scheme === "basic") return basicHeader(await this.creds());
    if (this.scheme !== "bearer") return undefined;
    const cached = this.tokens.get(scopeKey(scopes));
    if (cached && cached.expiresAt > Date.now()) return cached.header;
    return undefined;
  }

  /**
   * Answers a 401 challenge. Returns the header to retry with, or throws an AuthFailure saying why not
   * (no credentials, credentials refused).
   */
  async authorize(challenges: Challenge[], scopes: string[], signal?: AbortSignal): Promise<string> {
    const bearer = challenges.find((c) => c.scheme === "bearer");
    // Never guess which of two realms is the registry's: one of them may be injected.
    const ambiguous = challenges.find((c) => c.duplicate !== undefined);
    if (ambiguous) {
      throw new AuthFailure(
        `${this.host} sent a malformed ${ambiguous.scheme} challenge (parameter ${ambiguous.duplicate} given twice); refusing to use it`,
      );
    }
    const credentials = await this.creds();
    if (bearer?.params.realm) {
      let realm: URL;
      try {
        realm = new URL(bearer.params.realm);
      } catch {
        throw new AuthFailure(`${this.host} sent a token realm that is not a URL: ${bearer.params.realm}`);
      }
      // The registry may name scopes we did not think of: ask for both.
      const wanted = mergeScopes([...scopes, ...(bearer.params.scope ? bearer.params.scope.split(" ") : [])]);
      const response = await this.fetchToken({
        realm,
        service: bearer.params.service,
        scopes: wanted,
        credentials,
        signal,
      });
      if (!response.ok) throw new AuthFailure(this.refusal(credentials, response, scopes));
      this.scheme = "bearer";
      this.anonymous = credentials === undefined;
      const header = `Bearer ${response.token}`;
      const expiresAt = Date.now() + Math.max(response.expiresIn - 10, 5) * 1000;
      this.tokens.set(scopeKey(scopes), { header, expiresAt });
      this.tokens.set(scopeKey(wanted), { header, expiresAt });
      return header;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      const header = basicHeader(credentials);
      if (!header) throw new AuthFailure(notLoggedIn(this.host, scopes));
      this.scheme = "basic";
      return header;
    }
    throw new AuthFailure(
      `${this.host} requires authentication with a scheme wharf does not support (${challenges.map((c) => c.scheme).join(", ") || "no challenge"})`,
    );
  }

  /** Forgets cached authorization after it was refused, so that the next request starts over. */
  reset(): void {
    this.tokens.clear();
    this.scheme = "none";
    this.anonymous = false;
  }

  hasCredentials(): Promise<boolean> {
    return this.creds().then((c) => c !== undefined);
  }

  private creds(): Promise<Credentials | undefined> {
    this.credentials ??= this.loadCredentials();
    return this.credentials;
  }

  private refusal(
    credentials: Credentials | undefined,
    response: { status: number; message?: string; retryAfter?: string },
    scopes: string[],
  ): string {
    const said = response.message ? `: ${response.message}` : "";
    if (response.status === 429) {
      // A lockout or a quota: say so, and when, rather than retrying (which would extend a lockout).
      return `${this.host} refused to issue a token${said || ": too many requests"}${retrySuffix(response.message, response.retryAfter)}`;
    }
    if (!credentials) return notLoggedIn(this.host, scopes);
    const who = credentials.username ? ` for user ${credentials.username}` : "";
    return `${this.host} rejected the credentials${who}${said} (token service answered ${response.status})`;
  }
}

/** Thrown by the Authenticator; the transport turns it into an AuthError with context. */
export class AuthFailure extends Error {}

/** What a user without stored credentials is told: who to log in to, and for what. */
export function notLoggedIn(host: string, scopes: string[]): string {
  const what = describeScopes(scopes);
  return `not logged in to ${host}${what ? ` (${what} needs credentials)` : ""}: run \`wharf login ${host}\``;
}

/**
 * Token scopes in words, naming the strongest action asked for: `repository:a:pull,push` is "push to
 * a" (a push asks for pull too), `registry:catalog:*` is "the catalog".
 */
export function describeScopes(scopes: string[]): string {
  const words = mergeScopes(scopes).map((scope) => {
    const [type, ...rest] = scope.split(":");
    const actions = (rest.pop() ?? "").split(",");
    const name = rest.join(":");
    if (type === "registry" && name === "catalog") return "the catalog";
    if (type !== "repository") return scope;
    if (actions.includes("push")) return `push to ${name}`;
    if (actions.includes("delete")) return `delete in ${name}`;
    return `pull from ${name}`;
  });
  return words.join(" and ");
}

/**
 * After a 429's message: "; try again in 5 min" (from Retry-After), or " (retry in 5 min)" when the
 * message already says to try again; nothing when it does and there is no Retry-After.
 */
export function retrySuffix(message: string | undefined, retryAfter: string | undefined): string {
  const when = retryWhen(retryAfter);
  const saysSo = message !== undefined && /try again/i.test(message);
  if (saysSo) return when ? ` (retry ${when})` : "";
  return `; try again ${when ?? "later"}`;
}

/** Retry-After as "in 40 s" or "in 5 min (at 09:12 UTC)"; undefined without a usable one. */
function retryWhen(retryAfter: string | undefined): string | undefined {
  const ms = retryAfterMs(retryAfter);
  if (ms === undefined) return undefined;
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 120) return `in ${seconds} s`;
  const at = new Date(Date.now() + ms).toISOString().slice(11, 16);
  return `in ${Math.ceil(seconds / 60)} min (at ${at} UTC)`;
}

export function basicHeader(credentials: Credentials | undefined): string | undefined {
  if (!credentials?.username || credentials.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, "utf8").toString("base64")}`;
}

/** `repository:a:pull` + `repository:a:push` → `repository:a:pull,push`; sorted so equal sets share a key. */
export function mergeScopes(scopes: string[]): string[] {
  const actions = new Map<string, Set<string>>();
  for (const scope of scopes) {
    const colon = scope.lastIndexOf(":");
    if (colon < 0) continue;
    const resource = scope.slice(0, colon);
    const set = actions.get(resource) ?? new Set<string>();
    for (const action of scope.slice(colon + 1).split(",")) if (action) set.add(action);
    actions.set(resource, set);
  }
  return [...actions.entries()].map(([resource, set]) => `${resource}:${[...set].sort().join(",")}`).sort();
}

function scopeKey(scopes: string[]): string {
  return mergeScopes(scopes).join(" ");
}
