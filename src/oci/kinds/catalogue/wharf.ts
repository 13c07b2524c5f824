import { kind } from "./define.js";

/** The media type of Wharf's managed index artifact (`<namespace>/index:latest`). */
export const WHARF_INDEX_MEDIA_TYPE = "application/vnd.wharf.index.v1+json";

export const wharfKinds = [
  // Wharf's own: an OCI artifact with this artifactType and one layer of the same type listing every
  // artifact below a namespace, so that discovery works on registries that are not Wharf
  kind({
    id: "wharf-index",
    title: "Wharf index",
    description: "Wharf's managed list of every artifact below a namespace.",
    icon: "catalog",
    detect: {
      artifactTypes: [WHARF_INDEX_MEDIA_TYPE],
      configMediaTypes: [WHARF_INDEX_MEDIA_TYPE],
      layerMediaTypes: [WHARF_INDEX_MEDIA_TYPE],
    },
    actions: [{ label: "Read", template: "wharf pull {reference} -o ./index" }],
  }),
];
