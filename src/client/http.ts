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
  maxSockets?: number;
}

/** Keep-alive connection pools, one per client, so parallel transfers reuse connections. */
export class HttpAgents {
  readonly http: http.Agent;
  readonly idleTimeoutMs: number;
  private httpsAgent: https.Agent | undefined;

  constructor(private readonly options: HttpAgentOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
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
  const body = await openBody(request.body);
  const isHttps = request.url.protocol === "https:";
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
    req.setTimeout(agents.idleTimeoutMs, () => {
      req.destroy(
        Object.assign(new Error(`no response from ${request.url.host} for ${agents.idleTimeoutMs} ms`), {
          code: "ETIMEDOUT",
        }),
      );
    });
    req.on("error", (err) => {
      if (body && typeof body !== "string" && !Buffer.isBuffer(body)) body.destroy();
      reject(err);
    });
    req.on("response", (res) => {
      res.setTimeout(agents.idleTimeoutMs, () => {
        res.destroy(
          Object.assign(new Error(`transfer from ${request.url.host} stalled`), { code: "ETIMEDOUT" }),
        );
      });
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
