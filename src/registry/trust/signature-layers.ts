import { digestOf } from "../../oci/digest.js";
import type { Descriptor } from "../../oci/manifest.js";
import { MAX_SIGNATURE_LAYER_BYTES } from "../../oci/signatures/index.js";
import type { BlobStore } from "../../storage/blob-store.js";

/** Layers kept in memory per signature manifest for a second check (keys added meanwhile); more are re-read. */
const KEPT_BYTES = 4 * 1024 * 1024;

/**
 * Reads the signature layers of one signature manifest from the blob store: each refused before it is
 * read when it claims more than MAX_SIGNATURE_LAYER_BYTES, read no further than its size, and checked
 * against its digest. Small layers are kept, so checking them again against another key reads nothing.
 */
export class SignatureLayers {
  private readonly kept = new Map<string, Buffer>();
  private keptBytes = 0;

  constructor(private readonly store: BlobStore) {}

  readonly read = async (layer: Descriptor): Promise<Buffer> => {
    const cached = this.kept.get(layer.digest);
    if (cached) return cached;
    const bytes = await readBounded(this.store, layer);
    if (this.keptBytes + bytes.length <= KEPT_BYTES) {
      this.kept.set(layer.digest, bytes);
      this.keptBytes += bytes.length;
    }
    return bytes;
  };
}

async function readBounded(store: BlobStore, layer: Descriptor): Promise<Buffer> {
  if (!Number.isSafeInteger(layer.size) || layer.size < 0 || layer.size > MAX_SIGNATURE_LAYER_BYTES) {
    throw new Error(`signature layer ${layer.digest} is larger than ${MAX_SIGNATURE_LAYER_BYTES} bytes`);
  }
  if (layer.size === 0) return Buffer.alloc(0);
  const stream = await store.read(layer.digest, { start: 0, end: layer.size - 1 });
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > layer.size) throw new Error(`signature layer ${layer.digest} is longer than its size`);
      chunks.push(chunk);
    }
  } finally {
    stream.destroy();
  }
  const bytes = Buffer.concat(chunks);
  const algorithm = layer.digest.startsWith("sha512:") ? "sha512" : "sha256";
  if (bytes.length !== layer.size || digestOf(bytes, algorithm) !== layer.digest) {
    throw new Error(`signature layer ${layer.digest} does not match its digest`);
  }
  return bytes;
}
