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

/**
 * Reads a small body into memory, refusing (413) as soon as it passes `limit` bytes. A refused body is
 * drained, not destroyed: destroying the request would leave the keep-alive connection stalled, so the
 * client's next request on it would hang until the idle timeout.
 */
export async function readLimitedBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new RegistryError("SIZE_INVALID", `body exceeds ${limit} bytes`, undefined, 413);
  if ((contentLength(request) ?? 0) > limit) throw tooLarge();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (error: Error | null) => {
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
