import { parseChallenges } from "./auth-challenge.js";
import { Authenticator, AuthFailure, basicHeader, type TokenRequest, type TokenResponse } from "./auth.js";
import type { Credentials } from "./docker-config.js";
import { AuthError, NotFoundError, RegistryResponseError, UnreachableError, errorMessage } from "./errors.js";
import {
  discard,
  header,
  readBody,
  send,
  type HttpAgents,
  type HttpResponse,
  type RequestBody,
} from "./http.js";
import {
  DEFAULT_RETRY,
  backoffDelay,
  isRetryableStatus,
  isTlsError,
  isTransientNetworkError,
  isUnreachableError,
  sleep,
  type RetryOptions,
} from "./retry.js";

export interface TransportOptions {
  agents: HttpAgents;
  /** Use http:// for this registry (loopback hosts always do). */
  plainHttp?: boolean;
  credentials: () => Promise<Credentials | undefined>;
  retry?: RetryOptions;
  /** Called before each retry, for a verbose log or a test. */
  onRetry?: (message: string) => void;
}

export interface TransportRequest {
  method: string;
  /** `/v2/...`, or an absolute URL (an upload Location, a Link). */
  path: string;
  query?: Record<string, string | string[] | undefined>;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes this request needs, e.g. `repository:team/app:pull`. */
  scopes: string[];
  /** Retry on 429/5xx and dropped connections (default true; off when the body cannot be sent twice). */
  retry?: boolean;
}

const MAX_REDIRECTS = 5;
const TOKEN_RESPONSE_LIMIT = 1024 * 1024;

/**
 * HTTP to one registry: picks the scheme, answers auth challenges, follows redirects of reads (blob
 * downloads often go to object storage), and retries what is safe to retry with backoff.
 */
export class Transport {
  readonly base: URL;
  private readonly auth: Authenticator;
  private readonly retryOptions: RetryOptions;

  constructor(
    readonly host: string,
    private readonly options: TransportOptions,
  ) {
    const apiHost = host === "docker.io" ? "registry-1.docker.io" : host;
    const plain = options.plainHttp || isLoopback(apiHost);
    this.base = new URL(`${plain ? "http" : "https"}://${apiHost}`);
    this.retryOptions = options.retry ?? DEFAULT_RETRY;
    this.auth = new Authenticator(host, options.credentials, (request) => this.fetchToken(request));
  }

  /** Sends a request and returns whatever status the registry answered, after auth and retries. */
  async request(request: TransportRequest): Promise<HttpResponse> {
    const retries = request.retry === false ? 0 : this.retryOptions.retries;
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.authorized(request);
      } catch (err) {
        if (attempt < retries && isTransientNetworkError(err)) {
          this.options.onRetry?.(`${request.method} ${this.host}: ${errorMessage(err)}; retrying`);
          await sleep(backoffDelay(this.retryOptions, attempt));
          continue;
        }
        throw this.networkError(err);
      }
      if (attempt < retries && isRetryableStatus(res.status)) {
        discard(res);
        this.options.onRetry?.(`${request.method} ${this.host}: HTTP ${res.status}; retrying`);
        await sleep(backoffDelay(this.retryOptions, attempt, header(res, "retry-after")));
        continue;
      }
      return res;
    }
  }

  /** Checks that the registry speaks the API and that we may talk to it (what `login` verifies). */
  async ping(): Promise<void> {
    const res = await this.request({ method: "GET", path: "/v2/", scopes: [] });
    if (res.status === 200) return discard(res);
    throw await responseError(res, `${this.host} API check`);
  }

  resolve(path: string, query?: TransportRequest["query"]): URL {
    const url = new URL(path, this.base);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
    }
    return url;
  }

  private async authorized(request: TransportRequest): Promise<HttpResponse> {
    const url = this.resolve(request.path, request.query);
    let authorization = await this.auth.cachedHeader(request.scopes);
    let res = await this.follow(request, url, authorization);
    if (res.status !== 401) return res;

    const challenges = parseChallenges(res.headers["www-authenticate"]);
    discard(res);
    const hadAuthorization = authorization !== undefined;
    try {
      authorization = await this.auth.authorize(challenges, request.scopes);
    } catch (err) {
      if (err instanceof AuthFailure) throw new AuthError(err.message);
      throw err;
    }
    res = await this.follow(request, url, authorization);
    if (res.status === 401) {
      discard(res);
      const retried = parseChallenges(res.headers["www-authenticate"]);
      if (retried.some((c) => c.params.error === "insufficient_scope")) {
        // The credentials were accepted, but they do not allow this.
        throw new AuthError(
          `${this.host} denied access (${request.scopes.join(" ") || "this request"}): the account lacks permission`,
        );
      }
      this.auth.reset();
      const anonymous = !(await this.auth.hasCredentials());
      throw new AuthError(
        anonymous
          ? `${this.host} requires authentication: run \`wharf login ${this.host}\``
          : `${this.host} rejected the credentials${hadAuthorization ? " (they may have expired)" : ""}: run \`wharf login ${this.host}\``,
      );
    }
    return res;
  }

  /** Sends, following redirects for reads; credentials are not sent to another host. */
  private async follow(request: TransportRequest, start: URL, authorization: string | undefined) {
    let url = start;
    for (let hop = 0; ; hop++) {
      const sameHost = url.host === this.base.host;
      const headers = { ...request.headers, ...(authorization && sameHost ? { authorization } : {}) };
      const res = await send(this.options.agents, {
        method: request.method,
        url,
        headers,
        body: request.body,
      });
      const location = header(res, "location");
      const redirect = [301, 302, 303, 307, 308].includes(res.status) && location;
      if (!redirect || !["GET", "HEAD"].includes(request.method) || hop >= MAX_REDIRECTS) return res;
      discard(res);
      url = new URL(location, url);
    }
  }

  /** Docker token spec: GET realm?service&scope with Basic credentials, or OAuth2 refresh token POST. */
  private async fetchToken(request: TokenRequest): Promise<TokenResponse> {
    const url = new URL(request.realm);
    const creds = request.credentials;
    let res: HttpResponse;
    if (creds?.identityToken) {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.identityToken,
        client_id: "wharf",
        scope: request.scopes.join(" "),
      });
      if (request.service) form.set("service", request.service);
      res = await this.sendToken({
        method: "POST",
        url,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      });
    } else {
      if (request.service) url.searchParams.set("service", request.service);
      for (const scope of request.scopes) url.searchParams.append("scope", scope);
      const headers: Record<string, string> = {};
      const basic = basicHeader(creds);
      if (basic && creds?.username) {
        url.searchParams.set("account", creds.username);
        headers.authorization = basic;
      }
      res = await this.sendToken({ method: "GET", url, headers });
    }
    if (res.status !== 200) {
      discard(res);
      return { ok: false, status: res.status };
    }
    const body = JSON.parse((await readBody(res, TOKEN_RESPONSE_LIMIT)).toString("utf8")) as {
      token?: string;
      access_token?: string;
      expires_in?: number;
    };
    const token = body.token || body.access_token;
    if (!token) return { ok: false, status: res.status };
    return { ok: true, token, expiresIn: typeof body.expires_in === "number" ? body.expires_in : 60 };
  }

  private async sendToken(request: Parameters<typeof send>[1]): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await send(this.options.agents, request);
        if (attempt < this.retryOptions.retries && isRetryableStatus(res.status)) {
          discard(res);
          await sleep(backoffDelay(this.retryOptions, attempt, header(res, "retry-after")));
          continue;
        }
        return res;
      } catch (err) {
        if (attempt < this.retryOptions.retries && isTransientNetworkError(err)) {
          await sleep(backoffDelay(this.retryOptions, attempt));
          continue;
        }
        throw this.networkError(err, request.url.host);
      }
    }
  }

  private networkError(err: unknown, host = this.base.host): Error {
    if (err instanceof Error && "exitCode" in err) return err;
    if (isTlsError(err)) {
      return new UnreachableError(
        `TLS connection to ${host} failed (${errorMessage(err)}); trust its CA with --ca-file, or use --plain-http for a registry without TLS`,
        { cause: err },
      );
    }
    if (isUnreachableError(err)) {
      return new UnreachableError(`cannot reach registry ${host}: ${errorMessage(err)}`, { cause: err });
    }
    return new UnreachableError(`connection to ${host} failed: ${errorMessage(err)}`, { cause: err });
  }
}

/** localhost, 127.0.0.0/8 and ::1 are spoken to over plain HTTP, as docker does. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** Turns a failed response into the error the user should see, using the OCI error body if any. */
export async function responseError(res: HttpResponse, what: string): Promise<Error> {
  let code: string | undefined;
  let message: string | undefined;
  try {
    const body = JSON.parse((await readBody(res, 64 * 1024)).toString("utf8")) as {
      errors?: { code?: string; message?: string }[];
    };
    code = body.errors?.[0]?.code;
    message = body.errors?.[0]?.message;
  } catch {
    res.body.destroy();
  }
  const detail = [code, message].filter(Boolean).join(": ") || `HTTP ${res.status}`;
  const text = `${what}: ${detail}`;
  if (res.status === 404) return new NotFoundError(text);
  if (res.status === 401 || res.status === 403) return new AuthError(text);
  return new RegistryResponseError(text, res.status, code);
}
