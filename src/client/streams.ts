import { Transform, type Readable, type TransformCallback } from "node:stream";

/** Passes bytes through, reporting the running total (for progress bars). */
export class CountingStream extends Transform {
  private total: number;

  constructor(
    start: number,
    private readonly onBytes: (total: number) => void,
  ) {
    super();
    this.total = start;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.total += chunk.length;
    this.onBytes(this.total);
    callback(null, chunk);
  }
}

/** `stream` with a counter after it when someone listens; errors are carried over. */
export function counted(stream: Readable, start: number, onBytes?: (total: number) => void): Readable {
  if (!onBytes) return stream;
  const counter = new CountingStream(start, onBytes);
  stream.on("error", (err) => counter.destroy(err));
  counter.on("close", () => {
    if (!stream.readableEnded) stream.destroy();
  });
  counter.on("error", () => undefined); // reported to whoever consumes it (see verified())
  return stream.pipe(counter);
}
