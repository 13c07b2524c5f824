import { Transform, type TransformCallback } from "node:stream";
import type { FileHandle } from "node:fs/promises";

/** How much may pile up in the page cache before writeback is started. */
const FLUSH_EVERY = 32 * 1024 * 1024;

/**
 * Passes bytes through to a file's write stream and starts an `fdatasync` every 32 MiB, so the disk
 * writes while the network still delivers. The fsync at commit then only flushes the tail, instead
 * of the whole blob after the last byte arrived (the kernel would otherwise hold it all as dirty pages).
 */
export class EarlyFlush extends Transform {
  private inFlight: Promise<void> | undefined;
  private position: number;
  private nextFlushAt: number;

  /** `offset`: where in the file the bytes go, so that chunked uploads flush across their chunks too. */
  constructor(
    private readonly handle: FileHandle,
    offset: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.position = offset;
    this.nextFlushAt = (Math.floor(offset / FLUSH_EVERY) + 1) * FLUSH_EVERY;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.position += chunk.length;
    if (this.position >= this.nextFlushAt && !this.inFlight) {
      this.nextFlushAt = this.position + FLUSH_EVERY;
      // Best effort: durability comes from the fsync at commit; a failure here changes nothing.
      this.inFlight = this.handle
        .datasync()
        .catch(() => undefined)
        .finally(() => (this.inFlight = undefined));
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    // The file is closed after the stream ends: let a running sync finish on an open handle first.
    void (this.inFlight ?? Promise.resolve()).then(() => callback());
  }
}
