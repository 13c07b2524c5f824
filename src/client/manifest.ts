import { parseManifest, type Descriptor, type ManifestInfo } from "../oci/manifest.js";
import { INDEX_MEDIA_TYPES, MediaType } from "../oci/media-types.js";
import { RegistryError } from "../oci/errors.js";
import { IntegrityError } from "./errors.js";

export type { Descriptor };

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface IndexManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: (Descriptor & { platform?: Platform })[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** A manifest's exact bytes, which its digest is computed over, and what it is. */
export interface ManifestData {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export type DecodedManifest =
  | { kind: "image"; doc: ImageManifest; info: ManifestInfo }
  | { kind: "index"; doc: IndexManifest; info: ManifestInfo };

/** The empty JSON config that artifacts without a config use (image spec 1.1). */
export const EMPTY_CONFIG = {
  mediaType: MediaType.OciEmpty,
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
  bytes: Buffer.from("{}"),
} as const;

/** Parses and validates a manifest (with the server's own rules), so children can be walked safely. */
export function decodeManifest(data: ManifestData): DecodedManifest {
  let info: ManifestInfo;
  try {
    info = parseManifest(data.bytes, data.mediaType);
  } catch (err) {
    if (err instanceof RegistryError)
      throw new IntegrityError(`manifest ${data.digest} is invalid: ${err.message}`);
    throw err;
  }
  const doc = JSON.parse(data.bytes.toString("utf8")) as ImageManifest | IndexManifest;
  return INDEX_MEDIA_TYPES.has(info.mediaType)
    ? { kind: "index", doc: doc as IndexManifest, info }
    : { kind: "image", doc: doc as ImageManifest, info };
}

/** The artifact type as the referrers API reports it: artifactType, else the config's media type. */
export function artifactTypeOf(decoded: DecodedManifest): string | undefined {
  return decoded.info.artifactType ?? undefined;
}

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_MEDIA_TYPES.has(mediaType);
}

/** Manifest media types we ask registries for. */
export const MANIFEST_ACCEPT = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
].join(", ");

/** Manifests larger than this are refused on read, as registries refuse them on write. */
export const MANIFEST_LIMIT = 4 * 1024 * 1024;
