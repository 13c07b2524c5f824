import { createSHA256, type IHasher } from "hash-wasm";

/**
 * SHA-256 whose state can be saved after a chunk and restored on any node for the next one, so that a
 * chunked upload is never read back to be verified, wherever its chunks arrive. node:crypto cannot save
 * its state; hash-wasm's saved state is ~100 bytes, kept with the upload's row.
 */
export interface ResumableHash {
  update(data: Uint8Array): void;
  /** The state after everything hashed so far. */
  save(): Buffer;
  /** The final digest as hex; the hash is spent afterwards. */
  hex(): string;
}

/** A fresh hash, or one continuing from `state` (as save() returned it). */
export async function resumableSha256(state?: Uint8Array): Promise<ResumableHash> {
  const hasher: IHasher = await createSHA256();
  hasher.init();
  if (state) hasher.load(state);
  return {
    update: (data) => void hasher.update(data),
    save: () => Buffer.from(hasher.save()),
    hex: () => hasher.digest("hex"),
  };
}
