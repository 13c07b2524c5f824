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

/** Reads a small body into memory, refusing (413) as soon as it passes `limit` bytes. */
export async function readLimitedBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new RegistryError("SIZE_INVALID", `body exceeds ${limit} bytes`, undefined, 413);
  if ((contentLength(request) ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}
