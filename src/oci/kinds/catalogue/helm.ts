import { kind } from "./define.js";

export const helmKinds = [
  // helm/helm pkg/registry/constants.go (ConfigMediaType, ChartLayerMediaType, ProvLayerMediaType)
  kind({
    id: "helm-chart",
    title: "Helm chart",
    description: "A packaged Helm chart for Kubernetes.",
    icon: "chart",
    detect: {
      artifactTypes: ["application/vnd.cncf.helm.config.v1+json"],
      configMediaTypes: ["application/vnd.cncf.helm.config.v1+json"],
      layerMediaTypes: [
        "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        "application/vnd.cncf.helm.chart.provenance.v1.prov",
      ],
    },
    actions: [
      {
        label: "Pull",
        template: "helm pull oci://{registry}/{repository} --version {tag}",
      },
      {
        label: "Install",
        template: "helm install my-release oci://{registry}/{repository} --version {tag}",
        byDigest: "helm install my-release oci://{registry}/{repository}@{digest}",
      },
    ],
  }),
  // helm/helm pkg/registry/plugin.go (PluginArtifactType), Helm 4
  kind({
    id: "helm-plugin",
    title: "Helm plugin",
    description: "A Helm 4 plugin distributed as an OCI artifact.",
    icon: "plugin",
    detect: { artifactTypes: ["application/vnd.helm.plugin.v1+json"] },
    actions: [{ label: "Install", template: "helm plugin install oci://{reference}" }],
  }),
];
