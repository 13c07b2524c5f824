import { kind } from "./define.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

const run = [
  { label: "Run", template: "docker run --rm {reference}" },
  { label: "Run with Podman", template: "podman run --rm {reference}" },
];

/** Plain container images and indexes: the fallbacks, reached only when nothing more specific matched. */
export const containerKinds = [
  // opencontainers/image-spec specs-go/v1/mediatype.go (MediaTypeImageManifest, MediaTypeImageConfig)
  kind({
    id: "oci-image",
    title: "OCI image",
    description: "A container image in the OCI format.",
    icon: "image",
    detect: {
      fallback: {
        manifestMediaTypes: [OCI_MANIFEST],
        configMediaTypes: ["application/vnd.oci.image.config.v1+json"],
      },
    },
    actions: run,
  }),
  // distribution/distribution manifest/schema2/manifest.go (MediaTypeManifest, MediaTypeImageConfig)
  kind({
    id: "docker-image",
    title: "Docker image",
    description: "A container image in the Docker v2 schema 2 format.",
    icon: "container",
    detect: {
      fallback: {
        manifestMediaTypes: [DOCKER_MANIFEST],
        configMediaTypes: ["application/vnd.docker.container.image.v1+json"],
      },
    },
    actions: run,
  }),
  // opencontainers/image-spec specs-go/v1/mediatype.go (MediaTypeImageIndex);
  // distribution/distribution manifest/manifestlist/manifestlist.go (MediaTypeManifestList)
  kind({
    id: "image-index",
    title: "Multi-platform image",
    description: "An image index: one image per platform under one reference.",
    icon: "index",
    detect: {
      fallback: {
        manifestMediaTypes: [
          "application/vnd.oci.image.index.v1+json",
          "application/vnd.docker.distribution.manifest.list.v2+json",
        ],
      },
    },
    actions: [
      ...run,
      { label: "Inspect platforms", template: "docker buildx imagetools inspect {reference}" },
    ],
  }),
];
