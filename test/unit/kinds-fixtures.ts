/**
 * One manifest per shipped kind, shaped as its own tooling pushes it (media types and annotations as found
 * in each project's source), with the kind Wharf must detect.
 */

let counter = 0;
/** A distinct, well-formed digest per call. */
export function digest(): string {
  counter += 1;
  return `sha256:${counter.toString(16).padStart(64, "0")}`;
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";

export function desc(mediaType: string, size = 1000, extra: Record<string, unknown> = {}) {
  return { mediaType, digest: digest(), size, ...extra };
}
const empty = () => ({ mediaType: OCI_EMPTY, digest: digest(), size: 2 });
const titled = (mediaType: string, title: string, size = 1000) =>
  desc(mediaType, size, { annotations: { "org.opencontainers.image.title": title } });
const subject = () => ({ mediaType: OCI_MANIFEST, digest: digest(), size: 1234 });

export function ociManifest(fields: Record<string, unknown>) {
  return { schemaVersion: 2, mediaType: OCI_MANIFEST, ...fields };
}

export interface KindCase {
  name: string;
  expect: string;
  manifest: unknown;
  config?: unknown;
  tag?: string;
  parentAnnotations?: Record<string, string>;
}

const imageConfig = { architecture: "amd64", os: "linux", config: { Env: ["PATH=/usr/bin"] }, rootfs: {} };
const hex = "ab".repeat(32);

export const KIND_CASES: KindCase[] = [
  {
    name: "OCI image (buildah/podman)",
    expect: "oci-image",
    manifest: ociManifest({ config: desc(OCI_CONFIG), layers: [desc(OCI_LAYER), desc(OCI_LAYER)] }),
    config: imageConfig,
  },
  {
    name: "Docker image (docker push)",
    expect: "docker-image",
    manifest: {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: desc(DOCKER_CONFIG),
      layers: [desc(DOCKER_LAYER)],
    },
  },
  {
    name: "multi-platform index with BuildKit attestations",
    expect: "image-index",
    manifest: {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        desc(OCI_MANIFEST, 500, { platform: { os: "linux", architecture: "amd64" } }),
        desc(OCI_MANIFEST, 500, { platform: { os: "linux", architecture: "arm64", variant: "v8" } }),
        desc(OCI_MANIFEST, 560, {
          platform: { os: "unknown", architecture: "unknown" },
          annotations: {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": "sha256:" + "1".repeat(64),
          },
        }),
      ],
    },
  },
  {
    name: "Docker manifest list",
    expect: "image-index",
    manifest: {
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [desc(DOCKER_MANIFEST, 500, { platform: { os: "linux", architecture: "amd64" } })],
    },
  },
  {
    name: "Helm chart (helm push)",
    expect: "helm-chart",
    manifest: ociManifest({
      config: desc("application/vnd.cncf.helm.config.v1+json", 180),
      layers: [desc("application/vnd.cncf.helm.chart.content.v1.tar+gzip", 3400)],
      annotations: {
        "org.opencontainers.image.title": "nginx",
        "org.opencontainers.image.version": "1.2.3",
        "org.opencontainers.image.description": "A web server",
        "org.opencontainers.image.created": "2026-11-30T10:00:00Z",
      },
    }),
    config: {
      name: "nginx",
      version: "1.2.3",
      appVersion: "1.27.0",
      description: "A web server",
      apiVersion: "v2",
    },
  },
  {
    name: "Helm 4 plugin (oras push --artifact-type)",
    expect: "helm-plugin",
    manifest: ociManifest({
      artifactType: "application/vnd.helm.plugin.v1+json",
      config: empty(),
      layers: [titled("application/vnd.oci.image.layer.v1.tar", "example-cli.tgz")],
    }),
  },
  {
    name: "CNAB bundle (cnab-to-oci)",
    expect: "cnab-bundle",
    manifest: {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        desc(OCI_MANIFEST, 188, { annotations: { "io.cnab.manifest.type": "config" } }),
        desc(DOCKER_MANIFEST, 942, { annotations: { "io.cnab.manifest.type": "invocation" } }),
      ],
      annotations: {
        "io.cnab.keywords": '["helloworld"]',
        "io.cnab.runtime_version": "v1.0.0",
        "org.opencontainers.artifactType": "application/vnd.cnab.manifest.v1",
        "org.opencontainers.image.title": "helloworld",
        "org.opencontainers.image.version": "0.1.1",
      },
    },
  },
  {
    name: "CNAB bundle config manifest",
    expect: "cnab-bundle",
    manifest: ociManifest({ config: desc("application/vnd.cnab.config.v1+json"), layers: [] }),
  },
  {
    name: "Carvel imgpkg bundle (label in the config)",
    expect: "imgpkg-bundle",
    manifest: {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: desc(DOCKER_CONFIG),
      layers: [desc(DOCKER_LAYER)],
    },
    config: { architecture: "", os: "", config: { Labels: { "dev.carvel.imgpkg.bundle": "true" } } },
  },
  {
    name: "Zarf package (zarf package publish)",
    expect: "zarf-package",
    manifest: ociManifest({
      config: desc("application/vnd.zarf.config.v1+json"),
      layers: [
        titled("application/vnd.zarf.layer.v1.blob", "zarf.yaml"),
        titled("application/vnd.zarf.layer.v1.blob", "components/podinfo.tar"),
      ],
      annotations: {
        "org.opencontainers.image.title": "podinfo",
        "org.opencontainers.image.description": "demo",
      },
    }),
  },
  {
    name: "Compose project (docker compose publish)",
    expect: "compose-project",
    manifest: ociManifest({
      artifactType: "application/vnd.docker.compose.project",
      config: empty(),
      layers: [
        desc("application/vnd.docker.compose.file+yaml", 300, {
          annotations: { "com.docker.compose.file": "compose.yaml", "com.docker.compose.version": "2.34.0" },
        }),
      ],
    }),
  },
  {
    name: "Compose project, OCI 1.0 form",
    expect: "compose-project",
    manifest: ociManifest({
      config: desc("application/vnd.docker.compose.project", 2),
      layers: [desc("application/vnd.docker.compose.file+yaml")],
    }),
  },
  {
    name: "devcontainer feature (devcontainer features publish)",
    expect: "devcontainer-feature",
    manifest: ociManifest({
      config: { mediaType: "application/vnd.devcontainers", digest: digest(), size: 2 },
      layers: [titled("application/vnd.devcontainers.layer.v1+tar", "devcontainer-feature-go.tgz", 28160)],
      annotations: { "dev.containers.metadata": '{"id":"go","version":"1.2.3"}' },
    }),
  },
  {
    name: "Wasm component (wkg oci push, CNCF format)",
    expect: "wasm-module",
    manifest: ociManifest({
      config: desc("application/vnd.wasm.config.v0+json", 235),
      layers: [desc("application/wasm", 2006000)],
    }),
    config: { architecture: "wasm", os: "wasip2", layerDigests: [], component: { exports: [], imports: [] } },
  },
  {
    name: "Wasm module (wasm-to-oci v1)",
    expect: "wasm-to-oci",
    manifest: ociManifest({
      config: desc("application/vnd.wasm.config.v1+json", 2),
      layers: [desc("application/vnd.wasm.content.layer.v1+wasm")],
    }),
  },
  {
    name: "Wasm compat image (buildah --annotation module.wasm.image/variant=compat)",
    expect: "wasm-image",
    manifest: ociManifest({
      config: desc(OCI_CONFIG),
      layers: [desc(OCI_LAYER)],
      annotations: { "module.wasm.image/variant": "compat-smart" },
    }),
  },
  {
    name: "Docker+Wasm image (platform wasi/wasm)",
    expect: "wasm-image",
    manifest: ociManifest({ config: desc(OCI_CONFIG), layers: [desc(OCI_LAYER)] }),
    config: { architecture: "wasm", os: "wasi", config: {} },
  },
  {
    name: "Flux artifact (flux push artifact)",
    expect: "flux-artifact",
    manifest: ociManifest({
      config: { mediaType: "application/vnd.cncf.flux.config.v1+json", digest: digest(), size: 233 },
      layers: [desc("application/vnd.cncf.flux.content.v1.tar+gzip")],
      annotations: {
        "org.opencontainers.image.created": "2026-11-30T10:00:00Z",
        "org.opencontainers.image.source": "https://github.com/acme/fleet",
        "org.opencontainers.image.revision": "main@sha1:0123abcd",
      },
    }),
  },
  {
    name: "Timoni module (timoni mod push)",
    expect: "timoni-module",
    manifest: ociManifest({
      config: desc("application/vnd.timoni.config.v1+json", 342),
      layers: [
        desc("application/vnd.timoni.content.v1.tar+gzip", 121873, {
          annotations: { "sh.timoni.content.type": "module" },
        }),
      ],
      annotations: { "org.opencontainers.image.version": "1.0.0" },
    }),
  },
  {
    name: "Tekton bundle (tkn bundle push)",
    expect: "tekton-bundle",
    manifest: {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: desc(DOCKER_CONFIG),
      layers: [
        desc(DOCKER_LAYER, 400, {
          annotations: {
            "dev.tekton.image.apiVersion": "v1",
            "dev.tekton.image.kind": "task",
            "dev.tekton.image.name": "git-clone",
          },
        }),
      ],
    },
  },
  {
    name: "Crossplane package (annotated base layer)",
    expect: "crossplane-package",
    manifest: ociManifest({
      config: desc(OCI_CONFIG),
      layers: [desc(OCI_LAYER, 9000, { annotations: { "io.crossplane.xpkg": "base" } })],
    }),
  },
  {
    name: "Crossplane package (config label only)",
    expect: "crossplane-package",
    manifest: ociManifest({ config: desc(OCI_CONFIG), layers: [desc(OCI_LAYER)] }),
    config: { config: { Labels: { [`io.crossplane.xpkg:sha256:${hex}`]: "base" } }, os: "linux" },
  },
  {
    name: "OPA policy (conftest push)",
    expect: "opa-policy",
    manifest: ociManifest({
      config: desc("application/vnd.cncf.openpolicyagent.config.v1+json", 2),
      layers: [
        titled("application/vnd.cncf.openpolicyagent.policy.layer.v1+rego", "policy/deny.rego"),
        titled("application/vnd.cncf.openpolicyagent.data.layer.v1+json", "data/samples.json"),
      ],
    }),
  },
  {
    name: "OPA bundle (oras push --artifact-type)",
    expect: "opa-policy",
    manifest: ociManifest({
      artifactType: "application/vnd.cncf.openpolicyagent.config.v1+json",
      config: empty(),
      layers: [desc("application/vnd.cncf.openpolicyagent.layer.v1.tar+gzip")],
    }),
  },
  {
    name: "Kyverno policy (kyverno oci push)",
    expect: "kyverno-policy",
    manifest: ociManifest({
      config: desc("application/vnd.cncf.kyverno.config.v1+json", 233),
      layers: [
        desc("application/vnd.cncf.kyverno.policy.layer.v1+yaml", 740, {
          annotations: {
            "io.kyverno.image.apiVersion": "kyverno.io/v1",
            "io.kyverno.image.kind": "ClusterPolicy",
            "io.kyverno.image.name": "require-labels",
          },
        }),
      ],
    }),
  },
  {
    name: "Kyverno policy bundle (kyverno 1.20 format)",
    expect: "kyverno-policy",
    manifest: ociManifest({
      config: desc("application/vnd.cncf.kyverno.bundle.config.v1+json", 120),
      layers: [desc("application/vnd.cncf.kyverno.bundle.content.v1.tar+gzip", 4000)],
      annotations: {
        "io.kyverno.bundle.format-version": "1.0.0",
        "io.kyverno.bundle.name": "baseline",
        "org.opencontainers.image.version": "1.0.0",
      },
    }),
  },
  {
    name: "Falco rules (falcoctl registry push)",
    expect: "falco-rules",
    manifest: ociManifest({
      config: desc("application/vnd.cncf.falco.rulesfile.config.v1+json", 86),
      layers: [titled("application/vnd.cncf.falco.rulesfile.layer.v1+tar.gz", "falco_rules.yaml.tar.gz")],
    }),
    config: { name: "falco-rules", version: "3.2.0", dependencies: [] },
  },
  {
    name: "OpenTofu module (oras push --artifact-type application/vnd.opentofu.modulepkg)",
    expect: "opentofu-module",
    manifest: ociManifest({
      artifactType: "application/vnd.opentofu.modulepkg",
      config: empty(),
      layers: [desc("archive/zip", 5000)],
    }),
  },
  {
    name: "OpenTofu provider (index of provider-target manifests)",
    expect: "opentofu-provider",
    manifest: {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      artifactType: "application/vnd.opentofu.provider",
      manifests: [
        desc(OCI_MANIFEST, 600, {
          artifactType: "application/vnd.opentofu.provider-target",
          platform: { os: "linux", architecture: "amd64" },
        }),
        desc(OCI_MANIFEST, 600, {
          artifactType: "application/vnd.opentofu.provider-target",
          platform: { os: "darwin", architecture: "arm64" },
        }),
      ],
    },
  },
  {
    name: "KitOps ModelKit (kit push)",
    expect: "kitops-modelkit",
    manifest: ociManifest({
      artifactType: "application/vnd.kitops.modelkit.manifest.v1+json",
      config: desc("application/vnd.kitops.modelkit.config.v1+json", 400),
      layers: [
        desc("application/vnd.kitops.modelkit.model.v1.tar+gzip", 4_000_000),
        desc("application/vnd.kitops.modelkit.code.v1.tar+gzip", 2000),
        desc("application/vnd.kitops.modelkit.dataset.v1.tar+gzip", 9000),
      ],
    }),
    config: {
      manifestVersion: "1.0.0",
      package: { name: "qwen3-4b", version: "1.0", description: "Qwen3 4B instruct", authors: ["Qwen Team"] },
      model: { name: "qwen3-4b-instruct", path: "model", framework: "transformers", license: "Apache-2.0" },
    },
  },
  {
    name: "CNCF ModelPack model (modctl push)",
    expect: "modelpack-model",
    manifest: ociManifest({
      artifactType: "application/vnd.cncf.model.manifest.v1+json",
      config: desc("application/vnd.cncf.model.config.v1+json", 800),
      layers: [
        titled("application/vnd.cncf.model.weight.v1.tar", "model.safetensors", 16_000_000),
        titled("application/vnd.cncf.model.weight.config.v1.tar", "config.json", 800),
        titled("application/vnd.cncf.model.doc.v1.tar", "README.md", 3000),
      ],
    }),
    config: {
      descriptor: {
        createdAt: "2025-01-01T00:00:00Z",
        authors: ["xyz@xyz.com"],
        vendor: "XYZ Corp.",
        family: "xyz3",
        name: "xyz-3-8B-Instruct",
        version: "3.1",
        title: "XYZ 3 8B Instruct",
        description: "xyz is a large language model.",
        docURL: "https://www.xyz.com/get-started/",
        sourceURL: "https://github.com/xyz/xyz3",
        revision: "1234567890",
        licenses: ["Apache-2.0"],
      },
      config: {
        architecture: "transformer",
        format: "pytorch",
        paramSize: "8b",
        precision: "fp16",
        quantization: "gptq",
      },
      modelfs: { type: "layers", diff_ids: [] },
    },
  },
  {
    name: "Ollama model (ollama push)",
    expect: "ollama-model",
    manifest: {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: desc(DOCKER_CONFIG, 483),
      layers: [
        desc("application/vnd.ollama.image.model", 2176177120),
        desc("application/vnd.ollama.image.license", 1084),
        desc("application/vnd.ollama.image.template", 254),
        desc("application/vnd.ollama.image.params", 96),
      ],
    },
    config: {
      model_format: "gguf",
      model_family: "llama",
      model_families: ["llama"],
      model_type: "3.2B",
      file_type: "Q4_K_M",
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
    },
  },
  {
    name: "SPDX SBOM (oras attach --artifact-type application/spdx+json)",
    expect: "spdx-sbom",
    manifest: ociManifest({
      artifactType: "application/spdx+json",
      config: empty(),
      layers: [titled("application/spdx+json", "sbom.spdx.json")],
      subject: subject(),
    }),
  },
  {
    name: "SPDX SBOM (cosign attach sbom, .sbom tag)",
    expect: "spdx-sbom",
    tag: `sha256-${hex}.sbom`,
    manifest: ociManifest({ config: desc(OCI_CONFIG, 233), layers: [desc("text/spdx", 9000)] }),
  },
  {
    name: "CycloneDX SBOM (oras attach)",
    expect: "cyclonedx-sbom",
    manifest: ociManifest({
      artifactType: "application/vnd.cyclonedx+json",
      config: empty(),
      layers: [titled("application/vnd.cyclonedx+json", "bom.json")],
      subject: subject(),
    }),
  },
  {
    name: "Syft SBOM (oras attach --artifact-type application/vnd.syft+json)",
    expect: "syft-sbom",
    manifest: ociManifest({
      artifactType: "application/vnd.syft+json",
      config: empty(),
      layers: [titled("application/vnd.syft+json", "sbom.syft.json")],
      subject: subject(),
    }),
  },
  {
    name: "cosign signature (legacy .sig tag)",
    expect: "cosign-signature",
    tag: `sha256-${hex}.sig`,
    manifest: ociManifest({
      config: desc(OCI_CONFIG, 247),
      layers: [
        desc("application/vnd.dev.cosign.simplesigning.v1+json", 252, {
          annotations: { "dev.cosignproject.cosign/signature": "MEYCIQCPH7NJAIfrB6BZN91dV0o7l" },
        }),
      ],
    }),
  },
  {
    name: "Sigstore bundle v0.3 referrer (cosign sign, new bundle format)",
    expect: "sigstore-bundle",
    manifest: ociManifest({
      artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      config: empty(),
      layers: [desc("application/vnd.dev.sigstore.bundle.v0.3+json", 4500)],
      subject: subject(),
      annotations: {
        "dev.sigstore.bundle.content": "message-signature",
        "dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1",
        "org.opencontainers.image.created": "2026-11-30T10:00:00Z",
      },
    }),
  },
  {
    name: "Notation signature (notation sign)",
    expect: "notation-signature",
    manifest: ociManifest({
      artifactType: "application/vnd.cncf.notary.signature",
      config: empty(),
      layers: [desc("application/jose+json", 2000)],
      subject: subject(),
      annotations: {
        "io.cncf.notary.x509chain.thumbprint#S256": '["b13a843b"]',
        "org.opencontainers.image.created": "2026-11-30T10:00:00Z",
      },
    }),
  },
  {
    name: "Notation signature (older notation: type in config.mediaType)",
    expect: "notation-signature",
    manifest: ociManifest({
      config: desc("application/vnd.cncf.notary.signature", 2),
      layers: [desc("application/cose", 2000)],
      subject: subject(),
    }),
  },
  {
    name: "BuildKit attestation manifest (SBOM and provenance)",
    expect: "in-toto-attestation",
    parentAnnotations: {
      "vnd.docker.reference.type": "attestation-manifest",
      "vnd.docker.reference.digest": `sha256:${hex}`,
    },
    manifest: ociManifest({
      config: desc(OCI_CONFIG, 167),
      layers: [
        desc("application/vnd.in-toto+json", 40000, {
          annotations: { "in-toto.io/predicate-type": "https://spdx.dev/Document" },
        }),
        desc("application/vnd.in-toto+json", 9000, {
          annotations: { "in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2" },
        }),
      ],
    }),
  },
  {
    name: "cosign attestation (.att tag, DSSE envelope)",
    expect: "in-toto-attestation",
    tag: `sha256-${hex}.att`,
    manifest: ociManifest({
      config: desc(OCI_CONFIG, 247),
      layers: [
        desc("application/vnd.dsse.envelope.v1+json", 3000, {
          annotations: { predicateType: "https://slsa.dev/provenance/v1" },
        }),
      ],
    }),
  },
  {
    name: "Singularity/Apptainer SIF (apptainer push oras://)",
    expect: "sif-image",
    manifest: ociManifest({
      config: desc("application/vnd.sylabs.sif.config.v1+json", 2),
      layers: [titled("application/vnd.sylabs.sif.layer.v1.sif", "image.sif", 30_000_000)],
    }),
  },
  {
    name: "Wharf index artifact",
    expect: "wharf-index",
    manifest: ociManifest({
      artifactType: "application/vnd.wharf.index.v1+json",
      config: empty(),
      layers: [desc("application/vnd.wharf.index.v1+json", 5000)],
    }),
  },
  {
    name: "an unnamed blob (oras push with defaults)",
    expect: "artifact",
    manifest: ociManifest({
      config: desc("application/vnd.unknown.config.v1+json", 2),
      layers: [titled("application/vnd.oci.image.layer.v1.tar", "notes.txt")],
    }),
  },
];
