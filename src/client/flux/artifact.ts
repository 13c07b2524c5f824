import { MediaType } from "../../oci/media-types.js";
import type { Descriptor } from "../manifest.js";
import { goDescriptor, goJson, goMap } from "../../oci/signatures/go-json.js";

/** fluxcd/pkg oci constants.go. */
export const FluxMediaType = {
  Config: "application/vnd.cncf.flux.config.v1+json",
  Content: "application/vnd.cncf.flux.content.v1.tar+gzip",
} as const;

export const FluxAnnotation = {
  Created: "org.opencontainers.image.created",
  Source: "org.opencontainers.image.source",
  Revision: "org.opencontainers.image.revision",
} as const;

/**
 * What `flux push artifact --reproducible` records as the creation time. Wharf's pushes do not depend on
 * the clock (the same directory gives the same digest), so this is the default; `-a
 * org.opencontainers.image.created=…` records a real time.
 */
export const FLUX_REPRODUCIBLE_CREATED = "1970-01-01T00:00:00Z";

/**
 * The config blob Flux pushes: go-containerregistry's empty image with the layer appended, serialised
 * by Go (field order, zero times), its one diff_id the uncompressed tar's digest.
 */
export function fluxConfig(tarDigest: string): Buffer {
  return Buffer.from(
    `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],` +
      `"os":"","rootfs":{"type":"layers","diff_ids":[${goJson(tarDigest)}]},"config":{}}`,
  );
}

/**
 * The manifest bytes as go-containerregistry writes them for Flux: OCI manifest, no artifactType,
 * descriptors as {mediaType, size, digest}, annotations with sorted keys, Go's JSON escaping.
 */
export function fluxManifest(
  config: Descriptor,
  layer: Descriptor,
  annotations: Record<string, string>,
): Buffer {
  return Buffer.from(
    goJson({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: goDescriptor(config),
      layers: [goDescriptor(layer)],
      annotations: goMap(annotations),
    }),
  );
}
