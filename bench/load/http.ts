import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";

/** One keep-alive pool per load process; `maxSockets` bounds concurrency per server. */
export const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** Bytes of the body received (counted, not kept unless `collect`). */
  bytes: number;
  body: Buffer;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: Buffer | string | AsyncIterable<Buffer>;
  /** Keep the body (for manifests and listings); big blobs are only counted. */
  collect?: boolean;
}

/** One HTTP request on the shared agent; the body is drained so the socket is reused. */
export function request(method: string, url: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        if (options.collect) chunks.push(chunk);
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, body: Buffer.concat(chunks) }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    const body = options.body;
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else pipeline(Readable.from(body), req).catch(reject);
  });
}

/** Throws unless the status is one of `expected`, with the server's error body in the message. */
export function expectStatus(res: Response, expected: number[], what: string): void {
  if (!expected.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} ${res.body.toString("utf8").slice(0, 300)}`);
  }
}

/** The `rel="next"` target of a Link header, resolved against `base`. */
export function nextLink(headers: IncomingHttpHeaders, base: string): string | undefined {
  const link = headers.link;
  if (!link) return undefined;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(Array.isArray(link) ? link.join(",") : link);
  return match?.[1] ? new URL(match[1], base).toString() : undefined;
}

/** Runs `fn(0..count-1)` with at most `concurrency` in flight. */
export async function pool(concurrency: number, count: number, fn: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
