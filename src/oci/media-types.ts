export const MediaType = {
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciIndex: "application/vnd.oci.image.index.v1+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  OciEmpty: "application/vnd.oci.empty.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

/** Manifest media types whose children are manifests rather than blobs. */
export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MediaType.OciIndex,
  MediaType.DockerManifestList,
]);

/** Manifest media types whose children are a config and layers. */
export const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MediaType.OciManifest,
  MediaType.DockerManifest,
]);

export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([
  ...INDEX_MEDIA_TYPES,
  ...IMAGE_MEDIA_TYPES,
]);

const MEDIA_TYPE_GRAMMAR = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** RFC 6838 type/subtype, which the image spec requires of every mediaType and artifactType. */
export function isValidMediaType(value: string): boolean {
  return MEDIA_TYPE_GRAMMAR.test(value);
}

/** Strips parameters (`; charset=utf-8`) and lower-cases a Content-Type header value. */
export function essenceOf(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}
