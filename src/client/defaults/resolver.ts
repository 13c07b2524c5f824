import { UsageError } from "../errors.js";
import { namesRegistry, parseReference, type Reference } from "../reference.js";
import { loadClientConfig, shownConfigPath, type ClientConfig } from "./config-file.js";
import { registryKeyFor } from "./kind-keys.js";
import { formatLocation, parseDefaultLocation, type DefaultLocation } from "./location.js";

/** A default and where it was set, for `wharf info` and error messages. */
export interface ChosenDefault {
  location: DefaultLocation;
  /** e.g. `WHARF_REGISTRY`, or `registries.policy in ~/.config/wharf/config.yaml`. */
  through: string;
}

export interface Resolved {
  ref: Reference;
  /** The default a short name was resolved through; null for a full reference. */
  through: string | null;
}

/**
 * The one place references are resolved: full references as written, short names (`postgres:v14`,
 * `team/app`) against the per-kind default, else WHARF_REGISTRY, else the config file's `registry:`.
 * No default is an error that says how to set one: never a guess.
 */
export class Resolver {
  private config: ClientConfig | undefined | null = null;

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  resolve(input: string, options: { kind?: string } = {}): Resolved {
    if (namesRegistry(input)) return { ref: parseReference(input), through: null };
    const chosen = this.defaultFor(options.kind);
    if (!chosen) throw this.noDefault(input, options.kind);
    const ref = parseReference(input, { defaultRegistry: formatLocation(chosen.location) });
    return { ref, through: chosen.through };
  }

  /** The default for a kind (its own entry, else its family's), else the general one. */
  defaultFor(kind?: string): ChosenDefault | undefined {
    const config = this.file();
    if (kind && config) {
      const key = registryKeyFor(kind, Object.keys(config.registries));
      const location = key ? config.registries[key] : undefined;
      if (key && location) return { location, through: `registries.${key} in ${config.shownPath}` };
    }
    const env = this.env.WHARF_REGISTRY?.trim();
    if (env) return { location: parseDefaultLocation(env, "WHARF_REGISTRY"), through: "WHARF_REGISTRY" };
    if (config?.registry) return { location: config.registry, through: `registry in ${config.shownPath}` };
    return undefined;
  }

  /** The client config file's settings, if there is one (read once). */
  settings(): ClientConfig | undefined {
    return this.file();
  }

  private file(): ClientConfig | undefined {
    if (this.config === null) this.config = loadClientConfig(this.env);
    return this.config;
  }

  private noDefault(input: string, kind: string | undefined): UsageError {
    const path = shownConfigPath(this.env);
    const perKind = kind ? ` or registries: {${kind}: oci://HOST/NAMESPACE} in ${path},` : "";
    return new UsageError(
      `${JSON.stringify(input)} is a short name and no default registry is set: write it as host[:port]/repository[:tag], or set one with WHARF_REGISTRY=oci://HOST/NAMESPACE,${perKind} or registry: oci://HOST/NAMESPACE in ${path}`,
    );
  }
}
