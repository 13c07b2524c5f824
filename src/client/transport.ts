import { parseChallenges } from "./auth-challenge.js";
import {
  Authenticator,
  AuthFailure,
  basicHeader,
  describeScopes,
  notLoggedIn,
  retrySuffix,
  type TokenRequest,
  type TokenResponse,
} from "./auth.js";
import { Deadline } from "./deadline.js";
import type { Credentials } from "./docker-config.js";
import {
  AuthError,
  NotFoundError,
  RegistryResponseError,
  TimeoutError,
  UnreachableError,
  errorMessage,
} from "./errors.js";
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
  isNoAnswer,
  isTransientNetworkError,
  isUnreachableError,
  worthWaiting,
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
  /** The command's deadline (default: none). */
  deadline?: Deadline;
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
  /**
   * This request's own budget up to its response headers, retries and token included (default: only
   * the command's deadline). For answers that have a fallback, such as a cached tag resolution.
   */
  timeoutMs?: number;
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
  readonly deadline: Deadline;
  private apiCheck: Promise<number | undefined> | undefined;

  constructor(
    readonly host: string,
    private readonly options: TransportOptions,
  ) {
    const apiHost = host === "docker.io" ? "registry-1.docker.io" : host;
    const plain = options.plainHttp || isLoopback(apiHost);
    this.base = new URL(`${plain ? "http" : "https"}://${apiHost}`);
    this.retryOptions = options.retry ?? DEFAULT_RETRY;
    this.deadline = options.deadline ?? Deadline.after(undefined);
    this.auth = new Authenticator(host, options.credentials, (request) => this.fetchToken(request));
  }

  /** Sends a request and returns whatever status the registry answered, after auth and retries. */
  async request(request: TransportRequest): Promise<HttpResponse> {
    const retries = request.retry === false ? 0 : this.retryOptions.retries;
    const budget = this.deadline.within(request.timeoutMs);
    try {
      let noAnswer = 0;
      for (let attempt = 0; ; attempt++) {
        let res: HttpResponse;
        try {
          res = await this.authorized(request, budget.signal);
        } catch (err) {
          if (budget.signal.aborted) throw this.timedOut(budget.signal.reason);
          const again = isTransientNetworkError(err) && !(isNoAnswer(err) && noAnswer++ > 0);
          if (attempt < retries && again) {
            this.options.onRetry?.(`${request.method} ${this.host}: ${errorMessage(err)}; retrying`);
            await this.pause(backoffDelay(this.retryOptions, attempt), budget.signal);
            continue;
          }
          throw this.networkError(err);
        }
        const retryAfter = header(res, "retry-after");
        if (
          attempt < retries &&
          isRetryableStatus(res.status) &&
          worthWaiting(this.retryOptions, retryAfter)
        ) {
          discard(res);
          this.options.onRetry?.(`${request.method} ${this.host}: HTTP ${res.status}; retrying`);
          await this.pause(backoffDelay(this.retryOptions, attempt, retryAfter), budget.signal);
          continue;
        }
        return res;
      }
    } finally {
      budget.dispose();
    }
  }

  /** Checks that the registry speaks the API and that we may talk to it (what `login` verifies). */
  async ping(): Promise<void> {
    const res = await this.request({ method: "GET", path: "/v2/", scopes: [] });
    if (res.status === 200) return discard(res);
    if (res.status === 404) {
      discard(res);
      throw this.notARegistry(404);
    }
    throw await responseError(res, `${this.host} API check`);
  }

  /**
   * After a 404: is this a registry at all? `GET /v2/` answers 200 or 401 on every OCI registry; a web
   * server or another service answers 404. Asked once per host, only on the error path.
   */
  async notARegistryError(): Promise<Error | undefined> {
    this.apiCheck ??= this.request({ method: "GET", path: "/v2/", scopes: [] }).then(
      (res) => {
        discard(res);
        return res.status;
      },
      () => undefined,
    );
    const status = await this.apiCheck;
    return status === 404 ? this.notARegistry(status) : undefined;
  }

  /** Whether we have credentials for this registry (stored, or given to the client). */
  hasCredentials(): Promise<boolean> {
    return this.auth.hasCredentials();
  }

  /** The registry asked for authentication and we answered without credentials. */
  get anonymous(): boolean {
    return this.auth.anonymous;
  }

  resolve(path: string, query?: TransportRequest["query"]): URL {
    const url = new URL(path, this.base);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, v);
    }
    return url;
  }

  private async authorized(request: TransportRequest, signal: AbortSignal): Promise<HttpResponse> {
    const url = this.resolve(request.path, request.query);
    let authorization = await this.auth.cachedHeader(request.scopes);
    let res = await this.follow(request, url, authorization, signal);
    if (res.status !== 401) return res;

    const challenges = parseChallenges(res.headers["www-authenticate"]);
    discard(res);
    const hadAuthorization = authorization !== undefined;
    try {
      authorization = await this.auth.authorize(challenges, request.scopes, signal);
    } catch (err) {
      if (err instanceof AuthFailure) throw new AuthError(err.message);
      throw err;
    }
    res = await this.follow(request, url, authorization, signal);
    if (res.status === 401) {
      const retried = parseChallenges(res.headers["www-authenticate"]);
      const said = await errorText(res);
      const anonymous = !(await this.auth.hasCredentials());
      // What was denied: the scopes asked for, else those the registry named.
      const scopes = request.scopes.length
        ? request.scopes
        : retried.flatMap((c) => (c.params.scope ? c.params.scope.split(" ") : []));
      if (anonymous) throw new AuthError(notLoggedIn(this.host, scopes));
      if (retried.some((c) => c.params.error === "insufficient_scope")) {
        // The credentials were accepted, but they do not allow this.
        throw new AuthError(
          `${this.host} denied ${describeScopes(scopes) || "this request"}: the account lacks permission`,
        );
      }
      this.auth.reset();
      throw new AuthError(
        `${this.host} rejected the credentials${hadAuthorization ? " (they may have expired)" : ""}` +
          `${said ? ` (${said})` : ""}: run \`wharf login ${this.host}\``,
      );
    }
    return res;
  }

  /** Sends, following redirects for reads; credentials are not sent to another host. */
  private async follow(
    request: TransportRequest,
    start: URL,
    authorization: string | undefined,
    signal: AbortSignal,
  ) {
    let url = start;
    for (let hop = 0; ; hop++) {
      const sameHost = url.host === this.base.host;
      const headers = { ...request.headers, ...(authorization && sameHost ? { authorization } : {}) };
      const res = await send(this.options.agents, {
        method: request.method,
        url,
        headers,
        body: request.body,
        signal,
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
        signal: request.signal,
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
      res = await this.sendToken({ method: "GET", url, headers, signal: request.signal });
    }
    if (res.status !== 200) {
      const retryAfter = header(res, "retry-after");
      return { ok: false, status: res.status, message: await errorText(res), retryAfter };
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

  /** Token requests are retried on 5xx and dropped connections, never on 429: that is a lockout. */
  private async sendToken(request: Parameters<typeof send>[1]): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await send(this.options.agents, request);
        const retryAfter = header(res, "retry-after");
        if (
          attempt < this.retryOptions.retries &&
          res.status !== 429 &&
          isRetryableStatus(res.status) &&
          worthWaiting(this.retryOptions, retryAfter)
        ) {
          discard(res);
          this.options.onRetry?.(`token request to ${request.url.host}: HTTP ${res.status}; retrying`);
          await this.pause(backoffDelay(this.retryOptions, attempt, retryAfter), request.signal);
          continue;
        }
        return res;
      } catch (err) {
        if (request.signal?.aborted) throw err;
        if (attempt < this.retryOptions.retries && isTransientNetworkError(err)) {
          this.options.onRetry?.(`token request to ${request.url.host}: ${errorMessage(err)}; retrying`);
          await this.pause(backoffDelay(this.retryOptions, attempt), request.signal);
          continue;
        }
        throw this.networkError(err, request.url.host);
      }
    }
  }

  /** A backoff that ends early, failing, when the deadline comes. */
  pause(ms: number, signal: AbortSignal = this.deadline.signal): Promise<void> {
    return this.deadline.pause(ms, signal);
  }

  /** The error for a deadline that ran out while talking to this registry. */
  private timedOut(reason: unknown): Error {
    if (!(reason instanceof TimeoutError))
      return reason instanceof Error ? reason : new Error(String(reason));
    const message =
      reason.budget === "command"
        ? `${this.host} did not answer in time: ${reason.message}`
        : `${this.host} ${reason.message}`;
    return new TimeoutError(message, reason.budget, { cause: reason });
  }

  private notARegistry(status: number): Error {
    return new RegistryResponseError(
      `${this.host} is not an OCI registry (GET /v2/ answered ${status}): check the host and port`,
      status,
    );
  }

  private networkError(err: unknown, host = this.base.host): Error {
    if (err instanceof TimeoutError) return this.timedOut(err);
    if (err instanceof Error && "exitCode" in err) return err;
    if (isNoAnswer(err)) {
      return new TimeoutError(
        `${host} accepted the connection but did not answer (${errorMessage(err)})`,
        "request",
        {
          cause: err,
        },
      );
    }
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
  const { code, message } = await errorBody(res);
  let detail = [code, message].filter(Boolean).join(": ") || `HTTP ${res.status}`;
  if (res.status === 429) detail += retrySuffix(message, header(res, "retry-after"));
  const text = `${what}: ${detail}`;
  if (res.status === 404) return new NotFoundError(text);
  if (res.status === 401 || res.status === 403) return new AuthError(text);
  return new RegistryResponseError(text, res.status, code);
}

/** The first error of an OCI error body (`{"errors":[{code,message}]}`), read within a small bound. */
async function errorBody(res: HttpResponse): Promise<{ code?: string; message?: string }> {
  try {
    const body = JSON.parse((await readBody(res, 64 * 1024)).toString("utf8")) as {
      errors?: { code?: string; message?: string }[];
    };
    return { code: body.errors?.[0]?.code, message: body.errors?.[0]?.message };
  } catch {
    res.body.destroy();
    return {};
  }
}

/** The server's own words for a refusal, if it gave any. */
async function errorText(res: HttpResponse): Promise<string | undefined> {
  return (await errorBody(res)).message || undefined;
}
