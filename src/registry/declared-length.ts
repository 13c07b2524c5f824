import { Transform, type TransformCallback } from "node:stream";

/** A chunk whose body carried more or fewer bytes than its Content-Range declared. */
export class ChunkLengthError extends Error {}

/**
 * How a body the registry is given fails when its sender broke off before the end (a dropped
 * connection): the caller's stream errors with this, so the upload can say so instead of a 500.
 */
export class IncompleteBodyError extends Error {}

/**
 * Passes a body through while holding it to the length its Content-Range declared: it fails as soon as
 * a byte beyond that length arrives (so no more than the declared bytes ever reach the store), or at the
 * end when fewer came. Needed because a chunked-transfer body has no Content-Length to enforce.
 */
export class DeclaredLength extends Transform {
  private received = 0;

  constructor(private readonly expected: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.expected) {
      callback(
        new ChunkLengthError(
          `the chunk carries more than the ${this.expected} bytes its Content-Range declares`,
        ),
      );
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.received < this.expected) {
      callback(
        new ChunkLengthError(
          `the chunk carries ${this.received} bytes but its Content-Range declares ${this.expected}`,
        ),
      );
      return;
    }
    callback();
  }
}
