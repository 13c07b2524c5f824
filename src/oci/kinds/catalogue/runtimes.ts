import { kind } from "./define.js";

/** Runtimes other than OCI containers. */
export const runtimeKinds = [
  // sylabs/singularity and apptainer/apptainer internal/pkg/client/oras (SifConfigMediaType,
  // SifLayerMediaType "application/vnd.sylabs.sif.layer.v1.sif")
  kind({
    id: "sif-image",
    title: "Singularity/Apptainer image",
    description: "A SIF container image for Apptainer or SingularityCE, pushed with oras://.",
    icon: "cylinder",
    detect: {
      configMediaTypes: ["application/vnd.sylabs.sif.config.v1+json"],
      layerMediaTypes: ["application/vnd.sylabs.sif.layer.v1.sif"],
    },
    actions: [
      { label: "Pull with Apptainer", template: "apptainer pull oras://{reference}" },
      { label: "Run with Apptainer", template: "apptainer run oras://{reference}" },
    ],
  }),
];
