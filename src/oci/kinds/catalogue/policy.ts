import { kind } from "./define.js";

/** Policy and detection rules. */
export const policyKinds = [
  // open-policy-agent/conftest (OpenPolicyAgentConfigMediaType, ...PolicyLayerMediaType, ...DataLayerMediaType);
  // open-policy-agent/opa download/oci_download.go (bundle layer application/vnd.oci.image.layer.v1.tar+gzip
  // under this config type)
  kind({
    id: "opa-policy",
    title: "OPA policy",
    description: "Rego policies and data for Open Policy Agent or Conftest.",
    icon: "policy",
    detect: {
      artifactTypes: ["application/vnd.cncf.openpolicyagent.config.v1+json"],
      configMediaTypes: ["application/vnd.cncf.openpolicyagent.config.v1+json"],
      layerMediaTypes: [
        "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
        "application/vnd.cncf.openpolicyagent.data.layer.v1+json",
        "application/vnd.cncf.openpolicyagent.manifest.layer.v1+json",
        "application/vnd.cncf.openpolicyagent.layer.v1.tar+gzip",
      ],
    },
    actions: [
      { label: "Pull with Conftest", template: "conftest pull oci://{reference}" },
      { label: "Test with Conftest", template: "conftest test --update oci://{reference} manifest.yaml" },
    ],
  }),
  // kyverno/kyverno cmd/cli/kubectl-kyverno/commands/oci/internal/mediatypes.go: the 1.20 bundle format
  // (ConfigMediaType, ContentMediaType, io.kyverno.bundle.* annotations) and the legacy one
  // (LegacyConfigMediaType, LegacyContentMediaType)
  kind({
    id: "kyverno-policy",
    title: "Kyverno policy",
    description: "Kyverno policies for Kubernetes admission control.",
    icon: "admission",
    detect: {
      configMediaTypes: [
        "application/vnd.cncf.kyverno.bundle.config.v1+json",
        "application/vnd.cncf.kyverno.config.v1+json",
      ],
      layerMediaTypes: [
        "application/vnd.cncf.kyverno.bundle.content.v1.tar+gzip",
        "application/vnd.cncf.kyverno.policy.layer.v1+yaml",
      ],
      annotations: { "io.kyverno.bundle.format-version": "*" },
    },
    actions: [{ label: "Pull", template: "kyverno oci pull --image {reference} --directory ./policies" }],
  }),
  // falcosecurity/falcoctl pkg/oci/constants.go (FalcoRulesfileConfigMediaType, FalcoRulesfileLayerMediaType,
  // FalcoPluginConfigMediaType, FalcoPluginLayerMediaType)
  kind({
    id: "falco-rules",
    title: "Falco rules",
    description: "Runtime security rules (or a plugin) for Falco, installed with falcoctl.",
    icon: "watch",
    detect: {
      configMediaTypes: [
        "application/vnd.cncf.falco.rulesfile.config.v1+json",
        "application/vnd.cncf.falco.plugin.config.v1+json",
      ],
      layerMediaTypes: [
        "application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz",
        "application/vnd.cncf.falco.plugin.layer.v1+tar.gz",
      ],
    },
    actions: [{ label: "Install", template: "falcoctl artifact install {reference}" }],
  }),
];
