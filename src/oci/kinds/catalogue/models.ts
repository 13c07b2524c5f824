import { kind } from "./define.js";

/** Machine-learning models. */
export const modelKinds = [
  // kitops-ml/kitops pkg/lib/constants/mediatype (config "application/vnd.kitops.modelkit.config.v1+json",
  // layers "application/vnd.kitops.modelkit.<type>.v1.tar[+gzip|+zstd]", artifactType
  // "application/vnd.kitops.modelkit.manifest.v1+json")
  kind({
    id: "kitops-modelkit",
    title: "KitOps ModelKit",
    description: "A model with its datasets, code and docs, described by a Kitfile.",
    icon: "toolbox",
    detect: {
      artifactTypes: [
        "application/vnd.kitops.modelkit.manifest.v1+json",
        "application/vnd.kitops.modelkit.index.v1+json",
      ],
      configMediaTypes: ["application/vnd.kitops.modelkit.config.v1+json"],
      layerMediaTypes: ["application/vnd.kitops.modelkit.*"],
    },
    actions: [
      { label: "Pull", template: "kit pull {reference}" },
      { label: "Unpack", template: "kit unpack {reference} -d ./model" },
    ],
  }),
  // modelpack/model-spec specs-go/v1/mediatype.go (ArtifactTypeModelManifest, MediaTypeModelConfig,
  // MediaTypeModelWeight*, MediaTypeModelDoc*, MediaTypeModelCode*, MediaTypeModelDataset*)
  kind({
    id: "modelpack-model",
    title: "Model (CNCF ModelPack)",
    description: "An AI model packaged to the CNCF ModelPack specification.",
    icon: "model",
    detect: {
      artifactTypes: ["application/vnd.cncf.model.manifest.v1+json"],
      configMediaTypes: ["application/vnd.cncf.model.config.v1+json"],
      layerMediaTypes: ["application/vnd.cncf.model.*"],
    },
    actions: [
      { label: "Pull", template: "modctl pull {reference}" },
      { label: "Extract", template: "modctl extract {reference} --output ./model" },
    ],
  }),
  // ollama/ollama server/images.go and server/internal/manifest/manifest.go
  // ("application/vnd.ollama.image.model", ".template", ".params", ".license", ".system", ".projector", ".adapter")
  kind({
    id: "ollama-model",
    title: "Ollama model",
    description: "A language model in Ollama's format (GGUF weights, template and parameters).",
    icon: "chat",
    detect: { layerMediaTypes: ["application/vnd.ollama.image.*"] },
    actions: [
      { label: "Pull", template: "ollama pull {registry}/{repository}:{tag}" },
      { label: "Run", template: "ollama run {registry}/{repository}:{tag}" },
    ],
  }),
];
