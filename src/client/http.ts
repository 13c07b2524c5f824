import { readFileSync } from "node:fs";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { createSecureContext, rootCertificates } from "node:tls";
import type { Readable } from "node:stream";

/** A body that can be sent again on a retry: bytes, or a function opening a fresh stream each time. */
export type RequestBody = Buffer | string | (() => Promise<Readable> | Readable);

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Aborts the request, and later the response body, with the signal's reason (a deadline). */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  /** Must be consumed or destroyed by the caller, or the connection stays busy. */
  body: IncomingMessage;
}

export interface HttpAgentOptions {
  /** Extra CA certificates (PEM) trusted in addition to the system ones. */
  ca?: Buffer[];
  /** A connection with no traffic for this long is dropped (and the request retried). */
  idleTimeoutMs?: number;
  /** A new connection (TCP, and TLS for https) not established in this long fails: the host is not there. */
  connectTimeoutMs?: number;
  /**
   * A GET or HEAD whose response headers have not come in this long fails: a registry that accepts
   * connections and never answers. (Writes may take longer: the idle timeout bounds them.)
   */
  responseTimeoutMs?: number;
  maxSockets?: number;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 20_000;

/** Keep-alive connection pools, one per client, so parallel transfers reuse connections. */
export class HttpAgents {
  readonly http: http.Agent;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  private httpsAgent: https.Agent | undefined;

  constructor(private readonly options: HttpAgentOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.responseTimeoutMs = options.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
    this.http = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 16 });
  }

  /** Built on first use: parsing the CA bundles is wasted work for plain-HTTP registries. */
  get https(): https.Agent {
    this.httpsAgent ??= new https.Agent({
      keepAlive: true,
      maxSockets: this.options.maxSockets ?? 16,
      secureContext: createSecureContext({
        ca: [...rootCertificates, ...systemCertificates(), ...(this.options.ca ?? [])],
      }),
    });
    return this.httpsAgent;
  }

  destroy(): void {
    this.http.destroy();
    this.httpsAgent?.destroy();
  }
}

/** Sends one request and resolves when the response headers arrive; the body is left to the caller. */
export async function send(agents: HttpAgents, request: HttpRequest): Promise<HttpResponse> {
  const { signal } = request;
  if (signal?.aborted) throw signal.reason as Error;
  const body = await openBody(request.body);
  const isHttps = request.url.protocol === "https:";
  const host = request.url.host;
  const headers: Record<string, string> = { "user-agent": USER_AGENT, ...request.headers };
  if (typeof body === "string" || Buffer.isBuffer(body))
    headers["content-length"] = String(Buffer.byteLength(body));
  else if (body === undefined && ["PUT", "POST", "PATCH"].includes(request.method))
    headers["content-length"] ??= "0";

  return new Promise<HttpResponse>((resolve, reject) => {
    const req = (isHttps ? https : http).request(request.url, {
      method: request.method,
      headers,
      agent: isHttps ? agents.https : agents.http,
    });
    const fail = (message: string, code: string) => req.destroy(Object.assign(new Error(message), { code }));
    // Until the headers arrive, these bound the wait; afterwards only idleness and the signal do.
    const timers: NodeJS.Timeout[] = [];
    const clearTimers = () => timers.forEach(clearTimeout);
    const onAbort = () => req.destroy(signal?.reason as Error);
    signal?.addEventListener("abort", onAbort, { once: true });
    req.once("close", () => signal?.removeEventListener("abort", onAbort));

    req.once("socket", (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(
        () =>
          fail(`could not connect to ${host} within ${agents.connectTimeoutMs / 1000} s`, CONNECT_TIMEOUT),
        agents.connectTimeoutMs,
      );
      timers.push(timer);
      socket.once(isHttps ? "secureConnect" : "connect", () => clearTimeout(timer));
    });
    // Only reads: a registry answers them at once; a PUT that completes an upload may first move or
    // hash gigabytes (a retried timeout there would upload everything again).
    if (request.method === "GET" || request.method === "HEAD") {
      timers.push(
        setTimeout(
          () =>
            fail(`no response from ${host} within ${agents.responseTimeoutMs / 1000} s`, RESPONSE_TIMEOUT),
          agents.responseTimeoutMs,
        ),
      );
    }
    req.setTimeout(agents.idleTimeoutMs, () => {
      fail(`no response from ${host} for ${agents.idleTimeoutMs} ms`, "ETIMEDOUT");
    });
    req.on("error", (err) => {
      clearTimers();
      if (body && typeof body !== "string" && !Buffer.isBuffer(body)) body.destroy();
      reject(err);
    });
    req.on("response", (res) => {
      clearTimers();
      res.setTimeout(agents.idleTimeoutMs, () => {
        res.destroy(Object.assign(new Error(`transfer from ${host} stalled`), { code: "ETIMEDOUT" }));
      });
      if (signal) {
        // The deadline also covers reading the body (a download that trickles for ever).
        const onBodyAbort = () => res.destroy(signal.reason as Error);
        signal.addEventListener("abort", onBodyAbort, { once: true });
        res.once("close", () => signal.removeEventListener("abort", onBodyAbort));
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: request.url, body: res });
    });
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else {
      body.on("error", (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

/** Error codes of the two waits `send` bounds (see retry.ts for how each is treated). */
export const CONNECT_TIMEOUT = "ECONNECTTIMEOUT";
export const RESPONSE_TIMEOUT = "ERESPONSETIMEOUT";

/** Reads a small body (manifests, JSON, errors), refusing more than `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const declared = Number(res.headers["content-length"] ?? "0");
  if (declared > limit) {
    res.body.destroy();
    throw new Error(`response from ${res.url.host} is larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      res.body.destroy();
      throw new Error(`response from ${res.url.host} is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** Drops a body we do not need, so its connection can be reused (or closed if large). */
export function discard(res: HttpResponse): void {
  const length = Number(res.headers["content-length"] ?? "-1");
  if (length >= 0 && length <= 64 * 1024) res.body.resume();
  else res.body.destroy();
}

export function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

async function openBody(body: RequestBody | undefined): Promise<Readable | Buffer | string | undefined> {
  if (body === undefined || typeof body === "string" || Buffer.isBuffer(body)) return body;
  return body();
}

/**
 * The operating system's CA bundle (where corporate CAs get installed), which Node does not read by
 * itself; SSL_CERT_FILE names another one.
 */
function systemCertificates(): Buffer[] {
  const candidates = [
    process.env.SSL_CERT_FILE,
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
  ];
  for (const file of candidates) {
    if (!file) continue;
    try {
      return [readFileSync(file)];
    } catch {
      // Not on this system: try the next location.
    }
  }
  return [];
}

const USER_AGENT = "wharf/0.1.0";
