import { kind } from "./define.js";

/**
 * Signatures, SBOMs and attestations: accessories, listed under the artifact they refer to. Their actions
 * verify or read the subject, so they use {subject}, the digest of the artifact they refer to.
 */
export const supplyChainKinds = [
  // sigstore/cosign pkg/types/media.go (SimpleSigningMediaType) and pkg/oci/static/signature.go
  // (annotation "dev.cosignproject.cosign/signature"); tag convention sha256-<hex>.sig
  kind({
    id: "cosign-signature",
    title: "Cosign signature",
    description: "A cosign signature stored under the sha256-<digest>.sig tag.",
    icon: "signature",
    accessory: true,
    detect: {
      layerMediaTypes: ["application/vnd.dev.cosign.simplesigning.v1+json"],
      annotations: { "dev.cosignproject.cosign/signature": "*" },
      tagSuffixes: ["sig"],
    },
    actions: [
      { label: "Verify", template: "cosign verify --key cosign.pub {registry}/{repository}@{subject}" },
    ],
  }),
  // sigstore/cosign pkg/oci/remote/write.go (bundle referrer: artifactType and layer
  // "application/vnd.dev.sigstore.bundle.v0.3+json", annotations dev.sigstore.bundle.content/predicateType)
  kind({
    id: "sigstore-bundle",
    title: "Sigstore bundle",
    description: "A Sigstore bundle (v0.3) attached as an OCI 1.1 referrer: signature or signed attestation.",
    icon: "seal",
    accessory: true,
    detect: {
      artifactTypes: [
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle*",
      ],
      layerMediaTypes: ["application/vnd.dev.sigstore.bundle.v0.3+json"],
    },
    actions: [
      {
        label: "Verify",
        template:
          "cosign verify --certificate-identity=IDENTITY --certificate-oidc-issuer=ISSUER {registry}/{repository}@{subject}",
      },
    ],
  }),
  // notaryproject/notation-go registry/mediatype.go (ArtifactTypeNotation; envelopes application/jose+json
  // and application/cose); older notation put the same type in config.mediaType
  kind({
    id: "notation-signature",
    title: "Notary Project signature",
    description: "A Notation (Notary Project) signature referring to the artifact it signs.",
    icon: "seal",
    accessory: true,
    detect: {
      artifactTypes: ["application/vnd.cncf.notary.signature"],
      configMediaTypes: ["application/vnd.cncf.notary.signature"],
    },
    actions: [{ label: "Verify", template: "notation verify {registry}/{repository}@{subject}" }],
  }),
  // in-toto/attestation spec/v1 ("application/vnd.in-toto+json"); secure-systems-lab/dsse
  // ("application/vnd.dsse.envelope.v1+json", cosign .att); moby/buildkit exporter/containerimage/attestations.go
  // (vnd.docker.reference.type=attestation-manifest on the index's descriptor, platform unknown/unknown)
  kind({
    id: "in-toto-attestation",
    title: "Attestation",
    description: "An in-toto attestation: provenance, SBOM or other signed statements about an artifact.",
    icon: "attestation",
    accessory: true,
    hiddenFromPlatforms: true,
    detect: {
      artifactTypes: ["application/vnd.in-toto+json", "application/vnd.dsse.envelope.v1+json"],
      layerMediaTypes: ["application/vnd.in-toto+json", "application/vnd.dsse.envelope.v1+json"],
      annotations: { "vnd.docker.reference.type": "attestation-manifest" },
      tagSuffixes: ["att"],
    },
    actions: [
      {
        label: "Inspect provenance",
        template:
          "docker buildx imagetools inspect {registry}/{repository}@{subject} --format '{{json .Provenance}}'",
      },
      {
        label: "Verify with cosign",
        template: "cosign verify-attestation --key cosign.pub {registry}/{repository}@{subject}",
      },
    ],
  }),
  // spdx/spdx-spec (IANA: text/spdx, application/spdx+json, +xml, +yaml); cosign attach sbom uses text/spdx
  // and text/spdx+json
  kind({
    id: "spdx-sbom",
    title: "SPDX SBOM",
    description: "A software bill of materials in SPDX format.",
    icon: "sbom",
    accessory: true,
    detect: {
      artifactTypes: ["application/spdx+json", "text/spdx", "text/spdx+json", "application/spdx*"],
      layerMediaTypes: ["application/spdx+json", "application/spdx*", "text/spdx", "text/spdx+*"],
      tagSuffixes: ["sbom"],
    },
    actions: [{ label: "Download", template: "wharf pull {reference} -o ./sbom" }],
  }),
  // anchore/syft's own JSON format, attached by cosign attach sbom --type syft and by buildpacks
  kind({
    id: "syft-sbom",
    title: "Syft SBOM",
    description: "A software bill of materials in Syft's JSON format.",
    icon: "sbom",
    accessory: true,
    detect: {
      artifactTypes: ["application/vnd.syft+json"],
      layerMediaTypes: ["application/vnd.syft+json"],
    },
    actions: [{ label: "Download", template: "wharf pull {reference} -o ./sbom" }],
  }),
  // CycloneDX/specification (IANA: application/vnd.cyclonedx+json, application/vnd.cyclonedx+xml)
  kind({
    id: "cyclonedx-sbom",
    title: "CycloneDX SBOM",
    description: "A software bill of materials in CycloneDX format.",
    icon: "sbom",
    accessory: true,
    detect: {
      artifactTypes: ["application/vnd.cyclonedx+json", "application/vnd.cyclonedx*"],
      layerMediaTypes: ["application/vnd.cyclonedx+json", "application/vnd.cyclonedx*"],
    },
    actions: [{ label: "Download", template: "wharf pull {reference} -o ./sbom" }],
  }),
];
