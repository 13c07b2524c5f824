import { kind } from "./define.js";

/** Infrastructure as code. */
export const iacKinds = [
  // opentofu/opentofu internal/getmodules/oci_getter.go (ociIndexManifestArtifactType) and
  // website/docs/cli/oci_registries/module-package.mdx: one archive/zip layer
  kind({
    id: "opentofu-module",
    title: "OpenTofu module",
    description: "An OpenTofu (or Terraform) module package.",
    icon: "module",
    detect: { artifactTypes: ["application/vnd.opentofu.modulepkg"] },
    actions: [
      {
        label: "Use as module source",
        template: 'source = "oci://{registry}/{repository}?tag={tag}"',
        byDigest: 'source = "oci://{registry}/{repository}?digest={digest}"',
      },
    ],
  }),
  // opentofu/opentofu internal/getproviders/oci_registry_mirror_source.go (ociIndexManifestArtifactType,
  // ociPackageManifestArtifactType): an index of per-platform manifests
  kind({
    id: "opentofu-provider",
    title: "OpenTofu provider",
    description: "An OpenTofu provider, one archive per platform, for an OCI mirror.",
    icon: "provider",
    detect: {
      artifactTypes: ["application/vnd.opentofu.provider", "application/vnd.opentofu.provider-target"],
    },
    actions: [
      {
        label: "Install from this mirror",
        template:
          'provider_installation {\n  oci_mirror {\n    repository_template = "{registry}/{repository}"\n    include             = ["registry.opentofu.org/NAMESPACE/TYPE"]\n  }\n}',
      },
    ],
  }),
];
