/**
 * Artifact kinds: a data-driven catalogue of what an OCI artifact can be (images, charts, modules,
 * policies, models, signatures …), with detection from the manifest alone, facts, icons and actions.
 * Pure: no HTTP, no database; the registry and the CLI build on it.
 */
export type { ActionTemplate, Kind, KindRules } from "./types.js";
export { BUILTIN_KINDS, GENERIC_KIND, WHARF_INDEX_MEDIA_TYPE } from "./catalogue/index.js";
export { COSIGN_TAG, detectKind, type Detection, type DetectInput, type DetectionStage } from "./detect.js";
export { deriveTitle } from "./derive.js";
export {
  extractFacts,
  MAX_FACT_LENGTH,
  type ArtifactFacts,
  type ChartFacts,
  type FactsInput,
  type ModelFacts,
  type SbomFacts,
} from "./facts.js";
export { KindsError, mergeKinds, validateKinds } from "./overrides.js";
export {
  PLACEHOLDERS,
  referenceOf,
  renderActions,
  type ActionTarget,
  type Placeholder,
  type RenderedAction,
} from "./actions.js";
export { ICON_NAMES, ICON_PALETTE, ICON_VIEWBOX, iconSvg, isIconName } from "./icons.js";
