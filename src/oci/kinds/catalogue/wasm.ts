import { kind } from "./define.js";

/** WebAssembly in its three OCI forms. */
export const wasmKinds = [
  // CNCF TAG Runtime "Wasm OCI Artifact" (tag-runtime.cncf.io/wgs/wasm/deliverables/wasm-oci-artifact);
  // bytecodealliance/rust-oci-client src/manifest.rs (WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE)
  kind({
    id: "wasm-module",
    title: "WebAssembly component",
    description: "A WebAssembly module or component in the CNCF Wasm OCI artifact format.",
    icon: "wasm",
    detect: {
      artifactTypes: ["application/vnd.wasm.config.v0+json"],
      configMediaTypes: ["application/vnd.wasm.config.v0+json"],
      layerMediaTypes: ["application/wasm"],
    },
    actions: [{ label: "Pull", template: "wkg oci pull {reference}" }],
  }),
  // engineerd/wasm-to-oci pkg/oci/mediatypes.go (ContentLayerMediaType, ConfigMediaType): the older v1 form
  kind({
    id: "wasm-to-oci",
    title: "WebAssembly module (wasm-to-oci)",
    description: "A WebAssembly module pushed by wasm-to-oci, the form before the CNCF artifact.",
    icon: "wasm",
    detect: {
      configMediaTypes: ["application/vnd.wasm.config.v1+json"],
      layerMediaTypes: ["application/vnd.wasm.content.layer.v1+wasm"],
    },
    actions: [{ label: "Pull", template: "wasm-to-oci pull {reference} --out module.wasm" }],
  }),
  // containers/crun docs/wasm-wasi-example.md (module.wasm.image/variant=compat / compat-smart);
  // Docker+Wasm images are built for the wasi/wasm platform
  kind({
    id: "wasm-image",
    title: "WebAssembly image",
    description: "A container image holding a Wasm module, for crun, runwasi or Docker+Wasm.",
    icon: "wasm",
    detect: {
      annotations: { "module.wasm.image/variant": "compat*" },
      platforms: ["wasi/wasm", "wasip1/wasm", "wasip2/wasm", "*/wasm32"],
    },
    actions: [
      { label: "Run with Podman", template: "podman run --rm {reference}" },
      {
        label: "Run with Docker",
        template: "docker run --rm --runtime=io.containerd.wasmedge.v1 --platform=wasi/wasm {reference}",
      },
    ],
  }),
];
