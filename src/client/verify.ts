import { Transform, type Readable, type TransformCallback } from "node:stream";
import { createHash, type Hash } from "node:crypto";
import { parseDigest } from "../oci/digest.js";
import { IntegrityError } from "./errors.js";

/** Content cut off before its declared size: worth fetching again, unlike a wrong digest. */
export class TruncatedError extends IntegrityError {}

export interface Expected {
  digest: string;
  /** Known size; more bytes fail at once, fewer fail at the end. */
  size?: number;
}

/**
 * Passes bytes through while hashing them; fails the stream if the content does not match its digest
 * or size, so nothing downstream is committed from bad data.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private readonly algorithm: string;
  private received = 0;

  constructor(
    private readonly expected: Expected,
    private readonly what: string,
    private readonly relabel: (err: IntegrityError) => Error = (err) => err,
  ) {
    super();
    const parsed = parseDigest(expected.digest);
    this.algorithm = parsed.algorithm;
    this.hash = createHash(parsed.algorithm);
  }

  get bytes(): number {
    return this.received;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.expected.size !== undefined && this.received > this.expected.size) {
      callback(
        this.relabel(
          new IntegrityError(`${this.what} is larger than its declared ${this.expected.size} bytes`),
        ),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.expected.size !== undefined && this.received < this.expected.size) {
      callback(
        this.relabel(
          new TruncatedError(
            `${this.what} is truncated: got ${this.received} of ${this.expected.size} bytes`,
          ),
        ),
      );
      return;
    }
    const actual = `${this.algorithm}:${this.hash.digest("hex")}`;
    if (actual !== this.expected.digest) {
      callback(
        this.relabel(
          new IntegrityError(
            `${this.what} does not match its digest: expected ${this.expected.digest}, got ${actual}`,
          ),
        ),
      );
      return;
    }
    callback();
  }
}

/**
 * `source` piped through a VerifyingStream. A source that fails mid-way (connection dropped) surfaces as
 * a TruncatedError naming how far it got.
 */
export function verified(
  source: Readable,
  expected: Expected,
  what: string,
  relabel?: (err: IntegrityError) => Error,
): VerifyingStream {
  const verifier = new VerifyingStream(expected, what, relabel);
  source.on("error", (err) => {
    if (err instanceof IntegrityError) return verifier.destroy(err);
    const size = expected.size === undefined ? "" : ` of ${expected.size}`;
    verifier.destroy(
      new TruncatedError(`${what} is truncated: got ${verifier.bytes}${size} bytes (${err.message})`, {
        cause: err,
      }),
    );
  });
  // An HTTP body that ends early without an error still ends: the size check in _flush catches it.
  source.on("aborted", () => source.destroy(new Error("connection aborted")));
  verifier.on("close", () => {
    if (!source.readableEnded) source.destroy();
  });
  // Data starts flowing now; a failure may come before the consumer attaches (it then still sees
  // `errored` through pipeline or async iteration), and must not crash the process meanwhile.
  verifier.on("error", () => undefined);
  source.pipe(verifier);
  return verifier;
}

/** Digest of a buffer with the algorithm of `like` (sha256 unless `like` says sha512). */
export function digestLike(bytes: Uint8Array, like?: string): string {
  const algorithm = like ? parseDigest(like).algorithm : "sha256";
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}
