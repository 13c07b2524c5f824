import { Transform, finished, type Readable, type TransformCallback } from "node:stream";

/** A chunk whose body carried more or fewer bytes than its Content-Range declared. */
export class ChunkLengthError extends Error {}

/**
 * Passes a request body through while holding it to the length its Content-Range declared: it fails as
 * soon as a byte beyond that length arrives (so no more than the declared bytes ever reach the store),
 * or at the end when fewer came. Needed because a chunked-transfer body has no Content-Length for the
 * HTTP layer to enforce.
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

/**
 * `body` held to `expected` bytes. The body is piped rather than joined in a pipeline: a refused chunk
 * must not destroy the request (that would cut the connection before the 416 goes out), so on failure
 * the rest of the body is discarded instead. A body that breaks off still fails the returned stream.
 */
export function limitToDeclared(body: Readable, expected: number): Readable {
  const limited = new DeclaredLength(expected);
  limited.once("error", () => {
    body.unpipe(limited);
    body.resume();
  });
  finished(body, (err) => {
    if (err) limited.destroy(err);
  });
  body.pipe(limited);
  return limited;
}
