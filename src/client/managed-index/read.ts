import type { Readable } from "node:stream";
import {
  INDEX_TAG,
  IndexArtifactError,
  indexLayerOf,
  indexRepository,
  parseIndexDocument,
  type IndexDocument,
} from "../../oci/index-artifact/index.js";
import { IntegrityError, NotFoundError } from "../errors.js";
import type { RegistryClient } from "../registry.js";

export interface ReadIndex {
  doc: IndexDocument;
  /** Digest of the index manifest read. */
  digest: string;
}

/**
 * The namespace's index artifact, or null when the registry has none. Something else tagged
 * `index:latest`, or an index that fails validation, is an IntegrityError naming it: never overwritten
 * or shown as if empty.
 */
export async function readIndex(registry: RegistryClient, namespace: string): Promise<ReadIndex | null> {
  const repository = indexRepository(namespace);
  const where = `${registry.host}/${repository}:${INDEX_TAG}`;
  let manifest;
  try {
    manifest = await registry.getManifest(repository, INDEX_TAG);
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
  try {
    const layer = indexLayerOf(manifest.bytes);
    const bytes = await readAll(await registry.getBlob(repository, layer));
    return { doc: parseIndexDocument(bytes), digest: manifest.digest };
  } catch (err) {
    if (err instanceof IndexArtifactError) throw new IntegrityError(`${where}: ${err.message}`);
    throw err;
  }
}

/** The whole stream; its length is bounded by the verified descriptor size checked before. */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
