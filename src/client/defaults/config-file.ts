import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { UsageError } from "../errors.js";
import { checkKind } from "./kind-keys.js";
import { parseDefaultLocation, type DefaultLocation } from "./location.js";

/** The client's own settings (`$XDG_CONFIG_HOME/wharf/config.yaml`). */
export interface ClientConfig {
  /** The path it was read from, as shown to the user (`~/…` when under HOME). */
  shownPath: string;
  /** Default for short names (WHARF_REGISTRY overrides it). */
  registry?: DefaultLocation;
  /** Defaults per kind id or family word. */
  registries: Record<string, DefaultLocation>;
  /** Keep `<namespace>/index:latest` current on push, tag and rm, as if --index were given. */
  index: boolean;
}

const MAX_CONFIG_BYTES = 64 * 1024;
const KEYS = ["registry", "registries", "index"];

export function clientConfigPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "wharf", "config.yaml");
}

/** The path as shown to the user: `~/…` when under HOME. */
export function shownConfigPath(env: NodeJS.ProcessEnv): string {
  const path = clientConfigPath(env);
  const home = env.HOME || homedir();
  return path.startsWith(`${home}/`) ? `~/${path.slice(home.length + 1)}` : path;
}

/** The config file, validated; none when it does not exist. Every flaw is a UsageError naming the key. */
export function loadClientConfig(env: NodeJS.ProcessEnv): ClientConfig | undefined {
  const path = clientConfigPath(env);
  const shownPath = shownConfigPath(env);
  let text: string;
  try {
    if (statSync(path).size > MAX_CONFIG_BYTES)
      throw new UsageError(
        `${shownPath} is larger than ${MAX_CONFIG_BYTES / 1024} KiB: is it the right file?`,
      );
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${shownPath}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (err) {
    throw new UsageError(`${shownPath} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (!isRecord(data))
    throw new UsageError(`${shownPath} must be a mapping of settings (${KEYS.join(", ")})`);
  for (const key of Object.keys(data)) {
    if (!KEYS.includes(key))
      throw new UsageError(
        `${shownPath}: unknown setting ${JSON.stringify(key)} (known: ${KEYS.join(", ")})`,
      );
  }
  const config: ClientConfig = { shownPath, registries: {}, index: false };
  if (data.index !== undefined && data.index !== null) {
    if (typeof data.index !== "boolean") throw new UsageError(`${shownPath}: index must be true or false`);
    config.index = data.index;
  }
  if (data.registry !== undefined && data.registry !== null) {
    if (typeof data.registry !== "string")
      throw new UsageError(`${shownPath}: registry must be a string such as oci://registry.example.com/team`);
    config.registry = parseDefaultLocation(data.registry, `${shownPath}: registry`);
  }
  if (data.registries !== undefined && data.registries !== null) {
    if (!isRecord(data.registries))
      throw new UsageError(
        `${shownPath}: registries must map kinds to registries, e.g. chart: oci://host/charts`,
      );
    for (const [key, value] of Object.entries(data.registries)) {
      const where = `${shownPath}: registries.${key}`;
      const kind = checkKind(key, `${shownPath}: registries key`);
      if (typeof value !== "string")
        throw new UsageError(`${where} must be a string such as oci://host/charts`);
      config.registries[kind] = parseDefaultLocation(value, where);
    }
  }
  return config;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
