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
  // A client that goes away may leave write callbacks uncalled: closing settles every pending write.
  let closed = false;
  const pending = new Set<() => void>();
  const onClose = () => {
    closed = true;
    for (const settle of [...pending]) settle();
  };
  res.once("close", onClose);
  let inFlight: Promise<void>[] = [];
  const write = (buffer: Buffer, bytes: number) =>
    new Promise<void>((resolve) => {
      const settle = () => {
        pending.delete(settle);
        resolve();
      };
      pending.add(settle);
      res.write(buffer.subarray(0, bytes), (err) => {
        if (!err && !closed) release(buffer); // otherwise the socket may still hold it: leave it to GC
        settle();
      });
    });
  try {
    res.writeHead(reply.statusCode, headers);
    let position = range.start;
    while (position <= range.end && !closed) {
      if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
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
      inFlight.push(write(buffer, bytes));
    }
    await Promise.all(inFlight);
    inFlight = [];
    if (!closed) res.end();
  } catch (err) {
    res.destroy(err as Error);
    await Promise.all(inFlight);
  } finally {
    res.off("close", onClose);
    await reader.close();
  }
}
