import type { Kind } from "../types.js";
import { containerKinds } from "./containers.js";
import { kind } from "./define.js";
import { gitopsKinds } from "./gitops.js";
import { helmKinds } from "./helm.js";
import { iacKinds } from "./iac.js";
import { modelKinds } from "./models.js";
import { packageKinds } from "./packages.js";
import { policyKinds } from "./policy.js";
import { runtimeKinds } from "./runtimes.js";
import { supplyChainKinds } from "./supply-chain.js";
import { wasmKinds } from "./wasm.js";
import { wharfKinds } from "./wharf.js";

export { WHARF_INDEX_MEDIA_TYPE } from "./wharf.js";

/** What an artifact is when nothing matches and no media type names it. */
export const GENERIC_KIND: Kind = kind({
  id: "artifact",
  title: "generic artifact",
  description: "An OCI artifact of a type Wharf does not know.",
  icon: "artifact",
  detect: {},
  actions: [{ label: "Pull", template: "wharf pull {reference}" }],
});

/**
 * The built-in catalogue. Within a detection stage the first matching kind wins, so the order matters only
 * where two kinds could match at the same stage; the plain container kinds come last as fallbacks.
 */
export const BUILTIN_KINDS: readonly Kind[] = Object.freeze([
  ...wharfKinds,
  ...helmKinds,
  ...packageKinds,
  ...wasmKinds,
  ...gitopsKinds,
  ...policyKinds,
  ...iacKinds,
  ...modelKinds,
  ...runtimeKinds,
  ...supplyChainKinds,
  ...containerKinds,
  GENERIC_KIND,
]);
