import type { IncomingMessage } from "node:http";
import { RegistryError } from "../oci/errors.js";

/** Whether the request carries a body at all (a length above zero, or chunked transfer encoding). */
export function hasBody(request: IncomingMessage): boolean {
  const length = request.headers["content-length"];
  if (length !== undefined) return Number(length) > 0;
  return request.headers["transfer-encoding"] !== undefined;
}

export function contentLength(request: IncomingMessage): number | undefined {
  const length = request.headers["content-length"];
  return length === undefined ? undefined : Number(length);
}

/** When each request's small body must have arrived by (epoch ms); set by the server as requests come in. */
const bodyDeadlines = new WeakMap<IncomingMessage, { at: number; timeoutMs: number }>();

/**
 * Gives the request an overall deadline for a body read whole (readLimitedBody), counted from now. The
 * idle timeout alone does not bound such a read: it restarts on every byte, so one byte a minute would
 * hold the connection for days. Streamed blob uploads never read this way and are not affected.
 */
export function setBodyDeadline(request: IncomingMessage, timeoutMs: number): void {
  bodyDeadlines.set(request, { at: Date.now() + timeoutMs, timeoutMs });
}

/**
 * Reads a small body into memory, refusing (413) as soon as it passes `limit` bytes, and (408) when it has
 * not arrived by the request's body deadline. A refused body is drained, not destroyed: destroying the
 * request would leave the keep-alive connection stalled, so the client's next request on it would hang
 * until the idle timeout; the response to an unfinished body closes the connection (closeIfBodyUnread).
 */
export async function readLimitedBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new RegistryError("SIZE_INVALID", `body exceeds ${limit} bytes`, undefined, 413);
  if ((contentLength(request) ?? 0) > limit) throw tooLarge();
  const deadline = bodyDeadlines.get(request);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const expired = () =>
      new RegistryError(
        "UNKNOWN",
        `the request body did not arrive within ${deadline?.timeoutMs ?? 0} ms (http.bodyTimeout)`,
        undefined,
        408,
      );
    const timer = deadline
      ? setTimeout(() => settle(expired()), Math.max(deadline.at - Date.now(), 0))
      : undefined;
    const settle = (error: Error | null) => {
      clearTimeout(timer);
      request.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) {
        chunks.push(chunk);
        return;
      }
      settle(tooLarge());
      request.resume(); // discard the rest
    };
    const onEnd = () => settle(null);
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error("request closed before its body ended"));
    request.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}
