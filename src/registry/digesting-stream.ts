import { Transform, type TransformCallback } from "node:stream";

/** Anything fed bytes: node:crypto's Hash, or a ResumableHash whose promise says when to send more. */
export interface ByteSink {
  update(data: Buffer): unknown;
}

/** Passes bytes through while feeding a hash and counting them: one pass, no copies. */
export class DigestingStream extends Transform {
  bytes = 0;

  constructor(private readonly hash: ByteSink | undefined) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const accepted = this.hash?.update(chunk);
    if (accepted instanceof Promise) {
      accepted.then(
        () => callback(null, chunk),
        (err: unknown) => callback(err as Error),
      );
    } else callback(null, chunk);
  }
}
