import type { Readable } from "node:stream";
import type { IndexEntry } from "../../oci/index-artifact/index.js";
import { detectKind, extractFacts } from "../../oci/kinds/index.js";
import { MediaType } from "../../oci/media-types.js";
import { decodeManifest } from "../manifest.js";
import type { RegistryClient } from "../registry.js";

/** Configs larger than this are not read for facts (the kind is still known from the manifest). */
export const MAX_CONFIG_READ = 1024 * 1024;

/**
 * The index entry for `repository@digest` with `tags`: kind, title and version from the kinds
 * catalogue, on the manifest and (bounded) its config, as the server extracts them.
 */
export async function describeEntry(
  registry: RegistryClient,
  repository: string,
  digest: string,
  tags: string[],
  now: Date = new Date(),
): Promise<IndexEntry> {
  const data = await registry.getManifest(repository, digest);
  const decoded = decodeManifest(data);
  const manifest: unknown = JSON.parse(data.bytes.toString("utf8"));
  let config: unknown;
  if (decoded.kind === "image") {
    const descriptor = decoded.doc.config;
    if (descriptor.mediaType !== MediaType.OciEmpty && descriptor.size <= MAX_CONFIG_READ) {
      try {
        config = JSON.parse((await readAll(await registry.getBlob(repository, descriptor))).toString("utf8"));
      } catch {
        // A config that is not JSON only loses the facts it would have given.
        config = undefined;
      }
    }
  }
  const input = { manifest, config, tag: tags[0] ?? null };
  const facts = extractFacts({ ...input, detection: detectKind(input) });
  return {
    repository,
    digest,
    tags,
    kind: facts.kind,
    title: facts.title,
    version: facts.version,
    description: facts.description,
    updated: now.toISOString(),
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
