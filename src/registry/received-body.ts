import { PassThrough, Transform, finished, type Readable, type TransformCallback } from "node:stream";

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
 * The request body as the store should read it: held to `declared` bytes when a Content-Range declared
 * them. The body is piped rather than joined in a pipeline, because a failure downstream (a refused chunk,
 * a full disk) must not destroy the request: that cuts the connection before the error response goes
 * out. Instead the rest of the body is discarded. A body that breaks off still fails the returned stream.
 */
export function receiveBody(body: Readable, declared?: number): Readable {
  const received =
    declared === undefined ? new PassThrough({ highWaterMark: 1024 * 1024 }) : new DeclaredLength(declared);
  received.once("close", () => {
    body.unpipe(received);
    if (!body.readableEnded) body.resume();
  });
  finished(body, (err) => {
    if (err) received.destroy(err);
  });
  body.pipe(received);
  return received;
}
