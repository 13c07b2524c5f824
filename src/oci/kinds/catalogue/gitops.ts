import { kind } from "./define.js";

/** Deployment configuration consumed by cluster controllers. */
export const gitopsKinds = [
  // fluxcd/pkg oci/constants.go (CanonicalConfigMediaType, CanonicalContentMediaType)
  kind({
    id: "flux-artifact",
    title: "Flux artifact",
    description: "Kubernetes manifests packaged for a Flux OCIRepository.",
    icon: "sync",
    detect: {
      configMediaTypes: ["application/vnd.cncf.flux.config.v1+json"],
      layerMediaTypes: ["application/vnd.cncf.flux.content.v1.tar+gzip"],
    },
    actions: [
      { label: "Pull", template: "flux pull artifact oci://{reference} --output ./manifests" },
      {
        label: "Create a source",
        template: "flux create source oci my-source --url=oci://{registry}/{repository} --tag={tag}",
      },
    ],
  }),
  // stefanprodan/timoni api/v1alpha1/media_types.go (ConfigMediaType, ContentMediaType)
  kind({
    id: "timoni-module",
    title: "Timoni module",
    description: "A CUE-based Timoni module for Kubernetes.",
    icon: "braces",
    detect: {
      configMediaTypes: ["application/vnd.timoni.config.v1+json"],
      layerMediaTypes: ["application/vnd.timoni.content.v1.tar+gzip"],
    },
    actions: [
      {
        label: "Apply",
        template: "timoni apply my-instance oci://{registry}/{repository} --version {tag}",
      },
      {
        label: "Pull",
        template: "timoni mod pull oci://{registry}/{repository} --version {tag} --output ./module",
      },
    ],
  }),
  // tektoncd/pipeline pkg/remote/oci/resolver.go and tektoncd/cli pkg/bundle/builder.go: layers annotated
  // dev.tekton.image.{apiVersion,kind,name} on an otherwise ordinary image
  kind({
    id: "tekton-bundle",
    title: "Tekton bundle",
    description: "Tekton tasks and pipelines packaged for the bundles resolver.",
    icon: "pipeline",
    detect: { annotations: { "dev.tekton.image.kind": "*" } },
    actions: [
      { label: "List contents", template: "tkn bundle list {reference}" },
      {
        label: "Reference a task",
        template:
          "taskRef:\n  resolver: bundles\n  params:\n    - name: bundle\n      value: {reference}\n    - name: name\n      value: TASK\n    - name: kind\n      value: task",
      },
    ],
  }),
  // crossplane/crossplane contributing/specifications/xpkg.md: a layer annotated io.crossplane.xpkg=base,
  // mirrored by crossplane xpkg build as config label io.crossplane.xpkg:<layer digest>=base
  kind({
    id: "crossplane-package",
    title: "Crossplane package",
    description: "A Crossplane provider, configuration or function package (xpkg).",
    icon: "crossing",
    detect: {
      annotations: { "io.crossplane.xpkg": "base" },
      configLabels: { "io.crossplane.xpkg:*": "base" },
    },
    actions: [
      { label: "Install configuration", template: "crossplane xpkg install configuration {reference}" },
      { label: "Install provider", template: "crossplane xpkg install provider {reference}" },
    ],
  }),
];
