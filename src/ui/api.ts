/**
 * The UI's only way to the server: JSON over the registry's own HTTP API (discovery, admin, session),
 * with the session cookie sent by the browser and the session's CSRF token on every call.
 */

/** An OCI-format error answer (`{"errors":[{code, message, detail}]}`), or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onSessionDoubt: (() => void) | undefined;

/**
 * Called when an answer says the session may have ended (401, or a refused CSRF value: signed in again
 * in another tab); the session store checks with the server.
 */
export function onSessionRefused(handler: () => void): void {
  onSessionDoubt = handler;
}

/** Set by the session store: sent as X-Wharf-CSRF, which the admin API asks of cookie sessions. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export interface Page<T> {
  items: T[];
  /** The `last` cursor of the next page, from the Link header; undefined on the last page. */
  next: string | undefined;
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (csrfToken) headers["X-Wharf-CSRF"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(0, "NETWORK", `the registry could not be reached (${(err as Error).message})`);
  }
  if (!res.ok) {
    const error = await errorOf(res);
    const csrfRefused = res.status === 403 && /X-Wharf-CSRF/i.test(error.message);
    if (path !== "/api/v1/session" && (res.status === 401 || csrfRefused)) onSessionDoubt?.();
    throw error;
  }
  return res;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const first = parsed.errors?.[0];
    if (first?.code) {
      return new ApiError(res.status, first.code, first.message ?? first.code, first.detail);
    }
  } catch {
    // Not JSON: a proxy's page, say.
  }
  return new ApiError(res.status, `HTTP_${res.status}`, `${res.status} ${res.statusText}`.trim());
}

async function json<T>(res: Response): Promise<T> {
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** The `last` parameter of a `Link: <…?last=X>; rel="next"` header. */
export function nextCursor(res: Response): string | undefined {
  const link = res.headers.get("Link");
  const target = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
  if (!target) return undefined;
  return new URL(target, location.origin).searchParams.get("last") ?? undefined;
}

/** `path` with query parameters (undefined and empty values left out; arrays repeated). */
export function withQuery(
  path: string,
  params: Record<string, string | number | undefined | readonly string[]>,
): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === "") continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, v);
    else search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

export const api = {
  async get<T>(path: string): Promise<T> {
    return json<T>(await call("GET", path));
  },
  /** One page of a paged listing whose answer holds its items under `field`. */
  async page<T>(path: string, field: string): Promise<Page<T>> {
    const res = await call("GET", path);
    const body = (await res.json()) as Record<string, unknown>;
    return { items: (body[field] as T[] | undefined) ?? [], next: nextCursor(res) };
  },
  async text(path: string): Promise<string> {
    return (await call("GET", path)).text();
  },
  async post<T>(path: string, body: unknown = {}): Promise<T> {
    return json<T>(await call("POST", path, body));
  },
  async put<T>(path: string, body: unknown = {}): Promise<T> {
    return json<T>(await call("PUT", path, body));
  },
  async del<T = void>(path: string): Promise<T> {
    return json<T>(await call("DELETE", path));
  },
};
