import { kind } from "./define.js";

/** Application bundles and packages that carry or point at other images. */
export const packageKinds = [
  // cnabio/cnab-to-oci converter/types.go (CNABRuntimeVersionAnnotation, ArtifactTypeValue,
  // CNABConfigMediaType); cnabio/cnab-spec 201-representing-CNAB-in-OCI.md
  kind({
    id: "cnab-bundle",
    title: "CNAB bundle",
    description: "A Cloud Native Application Bundle: an installer image and the images it deploys.",
    icon: "bundle",
    detect: {
      artifactTypes: ["application/vnd.cnab.manifest.v1", "application/vnd.cnab.manifest.v1+json"],
      configMediaTypes: ["application/vnd.cnab.config.v1+json", "application/vnd.cnab.bundle.config.v1+json"],
      annotations: {
        "io.cnab.runtime_version": "*",
        "org.opencontainers.artifactType": "application/vnd.cnab.manifest.v1",
      },
    },
    actions: [
      { label: "Install with Porter", template: "porter install my-installation --reference {reference}" },
      { label: "Explain", template: "porter explain --reference {reference}" },
    ],
  }),
  // carvel-dev/imgpkg pkg/imgpkg/bundle/bundle.go (BundleConfigLabel): an image whose config carries a label
  kind({
    id: "imgpkg-bundle",
    title: "Carvel imgpkg bundle",
    description: "Configuration files with a lock of the images they reference, for relocation.",
    icon: "locked",
    detect: { configLabels: { "dev.carvel.imgpkg.bundle": "*" } },
    actions: [
      { label: "Pull", template: "imgpkg pull -b {reference} -o ./bundle" },
      { label: "Copy to a tarball", template: "imgpkg copy -b {reference} --to-tar bundle.tar" },
    ],
  }),
  // zarf-dev/zarf src/pkg/zoci/common.go (ZarfConfigMediaType, ZarfLayerMediaTypeBlob)
  kind({
    id: "zarf-package",
    title: "Zarf package",
    description: "A Zarf package for deploying into air-gapped Kubernetes clusters.",
    icon: "crate",
    detect: {
      configMediaTypes: ["application/vnd.zarf.config.v1+json"],
      layerMediaTypes: ["application/vnd.zarf.layer.v1.blob"],
    },
    actions: [
      { label: "Deploy", template: "zarf package deploy oci://{reference}" },
      { label: "Pull", template: "zarf package pull oci://{reference}" },
    ],
  }),
  // docker/compose pkg/remote/oci.go and internal/oci (ComposeProjectArtifactType, ComposeYAMLMediaType,
  // ComposeEnvFileMediaType, ComposeEmptyConfigMediaType)
  kind({
    id: "compose-project",
    title: "Compose project",
    description: "A Docker Compose application published as an OCI artifact.",
    icon: "compose",
    detect: {
      artifactTypes: ["application/vnd.docker.compose.project"],
      configMediaTypes: [
        "application/vnd.docker.compose.project",
        "application/vnd.docker.compose.config.empty.v1+json",
      ],
      layerMediaTypes: ["application/vnd.docker.compose.file+yaml", "application/vnd.docker.compose.envfile"],
    },
    actions: [
      { label: "Run", template: "docker compose -f oci://{reference} up" },
      { label: "Include", template: "include:\n  - oci://{reference}" },
    ],
  }),
  // devcontainers/spec docs/specs/distribution-features.md ("application/vnd.devcontainers",
  // "application/vnd.devcontainers.layer.v1+tar", collection layer)
  kind({
    id: "devcontainer-feature",
    title: "Dev container feature",
    description: "A dev container feature (or template) to add to a devcontainer.json.",
    icon: "devbox",
    detect: {
      configMediaTypes: ["application/vnd.devcontainers"],
      layerMediaTypes: [
        "application/vnd.devcontainers.layer.v1+tar",
        "application/vnd.devcontainers.collection.layer.v1+json",
      ],
      annotations: { "dev.containers.metadata": "*" },
    },
    actions: [{ label: "Use in devcontainer.json", template: '"features": { "{reference}": {} }' }],
  }),
];
