import { createHash, randomBytes } from "node:crypto";
import { Client } from "../../src/client/client.js";
import { bufferSource } from "../../src/client/sources.js";

type Json = Record<string, unknown>;

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

export interface Shaped {
  digest: string;
  size: number;
  mediaType: string;
}

/**
 * Like test/discovery/support.ts `pushShaped`, but through Wharf's client library, so that it works on
 * any registry (Distribution answers the monolithic upload that helper uses with a session instead):
 * every descriptor of `manifest` is replaced by real content, the config by `config` (JSON) or `{}`.
 */
export async function pushShapedTo(
  client: Client,
  host: string,
  repo: string,
  reference: string | null,
  manifest: unknown,
  config?: unknown,
): Promise<Shaped> {
  const registry = client.registry(host);
  const blob = async (bytes: Buffer, mediaType: string) => {
    const descriptor = { mediaType, digest: sha256(bytes), size: bytes.length };
    await registry.pushBlob(repo, descriptor, bufferSource(bytes));
    return descriptor;
  };
  const doc = structuredClone(manifest) as Json;
  const mediaType =
    typeof doc.mediaType === "string" ? doc.mediaType : "application/vnd.oci.image.manifest.v1+json";
  if (doc.config && typeof doc.config === "object") {
    const c = doc.config as Json;
    const type = String(c.mediaType);
    const bytes = Buffer.from(config !== undefined ? JSON.stringify(config) : "{}");
    const pushed = await blob(bytes, type);
    doc.config = { ...c, digest: pushed.digest, size: pushed.size };
  }
  if (Array.isArray(doc.layers)) {
    const layers: Json[] = [];
    for (const layer of doc.layers as Json[]) {
      const pushed = await blob(
        randomBytes(Math.min(Number(layer.size) || 64, 2048)),
        String(layer.mediaType),
      );
      layers.push({ ...layer, digest: pushed.digest, size: pushed.size });
    }
    doc.layers = layers;
  }
  if (Array.isArray(doc.manifests)) {
    const children: Json[] = [];
    for (const child of doc.manifests as Json[]) {
      const type = String(child.mediaType);
      const pushed = INDEX_TYPES.has(type)
        ? await pushShapedTo(client, host, repo, null, { schemaVersion: 2, mediaType: type, manifests: [] })
        : await pushShapedTo(client, host, repo, null, {
            schemaVersion: 2,
            mediaType: type,
            config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 2 },
            layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 100 }],
          });
      children.push({ ...child, digest: pushed.digest, size: pushed.size });
    }
    doc.manifests = children;
  }
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = sha256(bytes);
  await registry.putManifest(repo, reference ?? digest, { bytes, mediaType, digest });
  return { digest, size: bytes.length, mediaType };
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
