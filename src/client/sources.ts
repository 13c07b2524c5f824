import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { BlobSource } from "./upload.js";

export function bufferSource(bytes: Buffer): BlobSource {
  return {
    ranged: true,
    open: async (range) => Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]),
  };
}

/** A local file, read afresh for each attempt or chunk (so memory stays flat whatever its size). */
export function fileSource(path: string): BlobSource {
  return {
    ranged: true,
    open: async (range) => createReadStream(path, range ? { start: range.start, end: range.end } : {}),
  };
}

/** A stream that can only be opened whole, e.g. a blob fetched from another registry. */
export function streamSource(open: () => Promise<Readable>): BlobSource {
  return { ranged: false, open: () => open() };
}
