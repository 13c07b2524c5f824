import { createHash, randomBytes } from "node:crypto";

const CHUNK = 1024 * 1024;
let base: Buffer | undefined;

/** 1 MiB of random bytes per process; blobs repeat it, with a seed-derived first 32 bytes. */
function baseChunk(): Buffer {
  base ??= randomBytes(CHUNK);
  return base;
}

/** The 1 MiB pieces of a `size`-byte blob unique to `seed` (views of one buffer: no disk reads). */
export function* blobChunks(size: number, seed: string): Generator<Buffer> {
  const head = Buffer.from(baseChunk());
  createHash("sha256").update(seed).digest().copy(head, 0);
  for (let offset = 0; offset < size; offset += CHUNK) {
    const source = offset === 0 ? head : baseChunk();
    yield source.subarray(0, Math.min(CHUNK, size - offset));
  }
}

export function blobBuffer(size: number, seed: string): Buffer {
  return Buffer.concat([...blobChunks(size, seed)]);
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Digest of blobChunks(size, seed), computed before timing starts. */
export function blobDigest(size: number, seed: string): string {
  const hash = createHash("sha256");
  for (const chunk of blobChunks(size, seed)) hash.update(chunk);
  return `sha256:${hash.digest("hex")}`;
}
