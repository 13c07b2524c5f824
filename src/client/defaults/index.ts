/** Short names and default registries: the client config file, WHARF_REGISTRY and per-kind defaults. */
export { Resolver, type ChosenDefault, type Resolved } from "./resolver.js";
export { clientConfigPath, loadClientConfig, shownConfigPath, type ClientConfig } from "./config-file.js";
export { checkKind, familyOf, kindKeys, registryKeyFor } from "./kind-keys.js";
export { formatLocation, parseDefaultLocation, type DefaultLocation } from "./location.js";
