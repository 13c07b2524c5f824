import { digestOf } from "../../oci/digest.js";
import type { Descriptor } from "../../oci/manifest.js";
import { MAX_SIGNATURE_LAYER_BYTES } from "../../oci/signatures/index.js";
import type { BlobStore } from "../../storage/blob-store.js";

/**
 * Signature bytes read per signature manifest, all layers together: beyond it the remaining layers are
 * not read (their verdict says so). What was read is kept in memory, so a second check (keys added
 * meanwhile) reads nothing again.
 */
export const MAX_SIGNATURE_BYTES_PER_MANIFEST = 4 * 1024 * 1024;

/** The blob store failed to give a layer's bytes: the signature was not checked (nothing is recorded). */
export class UnreadableLayerError extends Error {}

/**
 * Reads the signature layers of one signature manifest from the blob store: each refused before it is
 * read when it claims more than MAX_SIGNATURE_LAYER_BYTES, read no further than its size, and checked
 * against its digest. Small layers are kept, so checking them again against another key reads nothing.
 */
export class SignatureLayers {
  private readonly kept = new Map<string, Buffer>();
  private keptBytes = 0;
  private unreadable: UnreadableLayerError | undefined;

  constructor(private readonly store: BlobStore) {}

  readonly read = async (layer: Descriptor): Promise<Buffer> => {
    const cached = this.kept.get(layer.digest);
    if (cached) return cached;
    if (Number.isSafeInteger(layer.size) && this.keptBytes + layer.size > MAX_SIGNATURE_BYTES_PER_MANIFEST) {
      throw new Error(
        `not read: this manifest's signatures hold more than ${MAX_SIGNATURE_BYTES_PER_MANIFEST / 1024 / 1024} MiB in all`,
      );
    }
    let bytes: Buffer;
    try {
      bytes = await readBounded(this.store, layer);
    } catch (err) {
      if (err instanceof UnreadableLayerError) this.unreadable ??= err;
      throw err;
    }
    this.kept.set(layer.digest, bytes);
    this.keptBytes += bytes.length;
    return bytes;
  };

  /**
   * Throws when a read failed in the store (verifiers turn read errors into verdicts; such a verdict must
   * not be recorded as a fact about the signature).
   */
  throwIfUnreadable(): void {
    if (this.unreadable) throw this.unreadable;
  }
}

async function readBounded(store: BlobStore, layer: Descriptor): Promise<Buffer> {
  if (!Number.isSafeInteger(layer.size) || layer.size < 0 || layer.size > MAX_SIGNATURE_LAYER_BYTES) {
    throw new Error(`signature layer ${layer.digest} is larger than ${MAX_SIGNATURE_LAYER_BYTES} bytes`);
  }
  if (layer.size === 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    const stream = await store.read(layer.digest, { start: 0, end: layer.size - 1 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        length += chunk.length;
        if (length > layer.size) break;
        chunks.push(chunk);
      }
    } finally {
      stream.destroy();
    }
  } catch (err) {
    throw new UnreadableLayerError(
      `signature layer ${layer.digest} could not be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (length > layer.size) throw new Error(`signature layer ${layer.digest} is longer than its size`);
  const bytes = Buffer.concat(chunks);
  const algorithm = layer.digest.startsWith("sha512:") ? "sha512" : "sha256";
  if (bytes.length !== layer.size || digestOf(bytes, algorithm) !== layer.digest) {
    throw new Error(`signature layer ${layer.digest} does not match its digest`);
  }
  return bytes;
}
