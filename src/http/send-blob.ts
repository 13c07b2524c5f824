import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply } from "fastify";
import type { BlobReader, ByteRange } from "../storage/blob-store.js";

const CHUNK = 256 * 1024;
/** Writes in flight per response: enough to keep the socket busy while the next chunk is read. */
const IN_FLIGHT = 4;
/** Idle buffers kept for the next responses (4 MiB); more than that are left to the garbage collector. */
const POOL_LIMIT = 16;
const pool: Buffer[] = [];

const acquire = () => pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK);
const release = (buffer: Buffer) => {
  if (pool.length < POOL_LIMIT) pool.push(buffer);
};

/**
 * Sends `range` of a blob by reading into pooled buffers, each reused once the socket has taken its
 * bytes (the write callback). Takes over the response from Fastify after its headers are set; hooks
 * such as the access log still run when the response finishes. A failure after the headers went out
 * can only cut the connection, which the client sees as a short body.
 */
export async function sendFromReader(
  reply: FastifyReply,
  reader: BlobReader,
  range: ByteRange,
): Promise<void> {
  const res = reply.raw;
  reply.hijack();
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value !== undefined) headers[name] = typeof value === "number" ? String(value) : value;
  }
  res.writeHead(reply.statusCode, headers);
  const pending = new Set<Promise<void>>();
  try {
    let position = range.start;
    while (position <= range.end && !res.destroyed) {
      if (pending.size >= IN_FLIGHT) await Promise.race(pending);
      const buffer = acquire();
      let bytes: number;
      try {
        bytes = await reader.read(buffer, position, Math.min(CHUNK, range.end - position + 1));
      } catch (err) {
        release(buffer);
        throw err;
      }
      if (bytes === 0) {
        release(buffer);
        throw new Error(`blob ended at byte ${position} of ${range.end + 1}`);
      }
      position += bytes;
      const written = new Promise<void>((resolve) => {
        res.write(buffer.subarray(0, bytes), () => {
          release(buffer);
          resolve();
        });
      });
      pending.add(written);
      void written.then(() => pending.delete(written));
    }
    await Promise.all(pending);
    res.end();
  } catch (err) {
    await Promise.all(pending);
    res.destroy(err as Error);
  } finally {
    await reader.close();
  }
}
