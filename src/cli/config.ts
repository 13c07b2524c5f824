import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { availableParallelism, homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { isValidRepositoryName } from "../oci/names.js";
import { BUILTIN_KINDS, KindsError, validateKinds, type Kind } from "../oci/kinds/index.js";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface ServerConfig {
  listen: { host: string; port: number };
  dataDir: string;
  logLevel: LogLevel;
  uploadTtlMs: number;
  idleTimeoutMs: number;
  /** A small body read whole (token form, admin JSON, manifest) must arrive within this long. */
  bodyTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** Require authentication (it is also required whenever a user exists). */
  authEnabled: boolean;
  /** Serve without authentication on a non-loopback address (never the default). */
  allowOpen: boolean;
  /** Public URL of the token endpoint, when the Host clients use differs (behind a proxy). */
  authRealm: string | undefined;
  authService: string;
  tokenTtlMs: number;
  refreshTtlMs: number;
  /** Failed logins per user name (and ten times that per client address) within `lockoutMs`. */
  maxFailedLogins: number;
  lockoutMs: number;
  /** Operator kinds (`kinds:` entries), validated; merged over the built-in catalogue at start-up. */
  kinds: Kind[];
  /** Namespaces whose `<namespace>/index:latest` the server keeps current ("" is the top level). */
  indexNamespaces: string[];
  /** How long after the last change below a namespace its index is rebuilt. */
  indexDelayMs: number;
  /** Garbage collection removes only what nothing has touched for this long. */
  gcGraceMs: number;
  /** How often a scheduled collection (with retention) runs; 0 only on demand. */
  gcIntervalMs: number;
  /** Collect manifests no tag names (after the grace window; never an index's child or a live referrer). */
  gcUntagged: boolean;
  uiEnabled: boolean;
  /** Where metadata lives: the embedded SQLite file in the data directory, or a PostgreSQL database. */
  metadataDriver: "sqlite" | "postgres";
  /** postgres://user:password@host:port/database (driver postgres only). */
  metadataUrl: string | undefined;
  /** Most connections one process (each worker) opens to PostgreSQL. */
  metadataPoolSize: number;
  /** Where blobs live: the data directory, or an S3-compatible bucket. */
  storageDriver: "filesystem" | "s3";
  s3Bucket: string | undefined;
  /** Key prefix inside the bucket ("" for none), so several registries may share one bucket. */
  s3Prefix: string;
  /** S3 endpoint URL; unset for AWS itself. */
  s3Endpoint: string | undefined;
  /** Region; unset takes the AWS chain's (AWS_REGION, ~/.aws/config). */
  s3Region: string | undefined;
  /** Path-style addressing (http://endpoint/bucket/key), which most S3-compatible servers need. */
  s3ForcePathStyle: boolean;
  /** The endpoint clients reach S3 under, for presigned redirects (default: s3Endpoint). */
  s3PublicEndpoint: string | undefined;
  /** Answer blob GETs with a 307 to a presigned URL (s3 only) instead of streaming through the node. */
  storageRedirect: boolean;
  /** Load balancers whose X-Forwarded-For is believed (addresses or CIDR ranges). */
  trustedProxies: string[];
  /** Server processes on this machine (each a full node); 0 means one per CPU. */
  workers: number;
}

/** A configuration value that cannot be used; names the key so the user can find it. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid configuration ${key}: ${message}`);
  }
}

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "wharf");
}

interface Setting<K extends keyof ServerConfig> {
  /** Dotted path in the YAML file. */
  key: string;
  env: string;
  /** One line for `wharf serve --help`. */
  help: string;
  parse: (value: unknown, key: string) => ServerConfig[K];
  /** The value as the YAML file would spell it (so --print-config output can be used as a file). */
  format?: (value: Exclude<ServerConfig[K], undefined>) => unknown;
  /** Masked by --print-config. */
  secret?: boolean;
}

const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

const settings: { [K in keyof ServerConfig]: Setting<K> } = {
  listen: {
    key: "listen",
    env: "WHARF_LISTEN",
    help: "address to listen on, HOST:PORT",
    parse: parseListen,
    format: formatListen,
  },
  dataDir: {
    key: "dataDir",
    env: "WHARF_DATA_DIR",
    help: "where metadata and blobs live (kept private: 0700)",
    parse: (v, k) => resolve(requireString(v, k)),
  },
  logLevel: {
    key: "log.level",
    env: "WHARF_LOG_LEVEL",
    help: `one of ${LOG_LEVELS.join(", ")}`,
    parse: (v, k) => {
      const level = requireString(v, k);
      if (!(LOG_LEVELS as readonly string[]).includes(level)) {
        throw new ConfigError(k, `must be one of ${LOG_LEVELS.join(", ")}`);
      }
      return level as LogLevel;
    },
  },
  uploadTtlMs: {
    key: "uploads.ttl",
    env: "WHARF_UPLOAD_TTL",
    help: "unfinished uploads are removed after this long",
    parse: parseDuration,
    format: formatDuration,
  },
  idleTimeoutMs: {
    key: "http.idleTimeout",
    env: "WHARF_IDLE_TIMEOUT",
    help: "a connection with no traffic (also an idle keep-alive one) is closed after this long",
    parse: parseDuration,
    format: formatDuration,
  },
  bodyTimeoutMs: {
    key: "http.bodyTimeout",
    env: "WHARF_BODY_TIMEOUT",
    help: "a small body read whole (token form, admin JSON, manifest) must arrive within this long; not blob uploads",
    parse: parseDuration,
    format: formatDuration,
  },
  shutdownTimeoutMs: {
    key: "http.shutdownTimeout",
    env: "WHARF_SHUTDOWN_TIMEOUT",
    help: "on SIGTERM, how long in-flight requests may take to finish",
    parse: parseDuration,
    format: formatDuration,
  },
  authEnabled: {
    key: "auth.enabled",
    env: "WHARF_AUTH_ENABLED",
    help: "require authentication (always on once a user exists)",
    parse: parseBoolean,
  },
  allowOpen: {
    key: "auth.allowOpen",
    env: "WHARF_AUTH_ALLOW_OPEN",
    help: "serve a non-loopback address without authentication, on purpose",
    parse: parseBoolean,
  },
  authRealm: {
    key: "auth.realm",
    env: "WHARF_AUTH_REALM",
    help: "public URL of the token endpoint (behind a proxy); default: from the request's Host",
    parse: parseUrl,
    format: maskUrlCredentials,
  },
  authService: {
    key: "auth.service",
    env: "WHARF_AUTH_SERVICE",
    help: "the service name in token challenges and tokens",
    parse: requireString,
  },
  tokenTtlMs: {
    key: "auth.tokenTtl",
    env: "WHARF_TOKEN_TTL",
    help: "lifetime of access tokens",
    parse: parseDuration,
    format: formatDuration,
  },
  refreshTtlMs: {
    key: "auth.refreshTtl",
    env: "WHARF_REFRESH_TTL",
    help: "lifetime of refresh tokens",
    parse: parseDuration,
    format: formatDuration,
  },
  maxFailedLogins: {
    key: "auth.maxFailedLogins",
    env: "WHARF_MAX_FAILED_LOGINS",
    help: "password guesses checked per user name (ten times that per address) per auth.lockout window",
    parse: parsePositiveInteger,
  },
  lockoutMs: {
    key: "auth.lockout",
    env: "WHARF_LOCKOUT",
    help: "the window failed logins are counted in, and how long a lockout lasts",
    parse: parseDuration,
    format: formatDuration,
  },
  kinds: {
    key: "kinds",
    env: "WHARF_KINDS",
    help: "operator artifact kinds (a list; in the environment as YAML or JSON), over the built-in ones",
    parse: parseKinds,
  },
  indexNamespaces: {
    key: "index.namespaces",
    env: "WHARF_INDEX_NAMESPACES",
    help: "namespaces whose NAMESPACE/index:latest the server keeps current (a list; / is the top level)",
    parse: parseNamespaces,
    format: (list) => list.map((n) => (n === "" ? "/" : n)),
  },
  indexDelayMs: {
    key: "index.delay",
    env: "WHARF_INDEX_DELAY",
    help: "a managed index is rebuilt this long after the last change below it (at most 10x after the first)",
    parse: parseDuration,
    format: formatDuration,
  },
  gcGraceMs: {
    key: "gc.grace",
    env: "WHARF_GC_GRACE",
    help: "garbage collection removes only what nothing has touched (pushed, pulled, mounted) for this long",
    parse: parseDuration,
    format: formatDuration,
  },
  gcIntervalMs: {
    key: "gc.interval",
    env: "WHARF_GC_INTERVAL",
    help: "how often retention and garbage collection run on their own (0: only `wharf gc`)",
    parse: parseDuration,
    format: formatDuration,
  },
  gcUntagged: {
    key: "gc.untagged",
    env: "WHARF_GC_UNTAGGED",
    help: "also collect manifests no tag names (never an index's child nor a referrer of a stored subject)",
    parse: parseBoolean,
  },
  uiEnabled: {
    key: "ui.enabled",
    env: "WHARF_UI_ENABLED",
    help: "serve the web UI at / (the registry API stays at /v2/ and /api/v1/ either way)",
    parse: parseBoolean,
  },
  metadataDriver: {
    key: "metadata.driver",
    env: "WHARF_METADATA_DRIVER",
    help: "sqlite (a file in the data directory) or postgres (metadata.url)",
    parse: (v, k) => oneOf(v, k, ["sqlite", "postgres"] as const),
  },
  metadataUrl: {
    key: "metadata.url",
    env: "WHARF_METADATA_URL",
    help: "PostgreSQL connection URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE (the password is masked)",
    parse: parsePostgresUrl,
    format: maskUrlPassword,
  },
  metadataPoolSize: {
    key: "metadata.poolSize",
    env: "WHARF_METADATA_POOL_SIZE",
    help: "most PostgreSQL connections per process (each worker has its own pool)",
    parse: parsePositiveInteger,
  },
  storageDriver: {
    key: "storage.driver",
    env: "WHARF_STORAGE_DRIVER",
    help: "filesystem (the data directory) or s3 (storage.s3.*)",
    parse: (v, k) => oneOf(v, k, ["filesystem", "s3"] as const),
  },
  s3Bucket: {
    key: "storage.s3.bucket",
    env: "WHARF_S3_BUCKET",
    help: "the bucket blobs are stored in (it must exist)",
    parse: requireString,
  },
  s3Prefix: {
    key: "storage.s3.prefix",
    env: "WHARF_S3_PREFIX",
    help: "key prefix inside the bucket, e.g. registry/ (several registries may share a bucket)",
    parse: (v, k) => (v === "" ? "" : parsePrefix(requireString(v, k), k)),
  },
  s3Endpoint: {
    key: "storage.s3.endpoint",
    env: "WHARF_S3_ENDPOINT",
    help: "S3 endpoint URL for S3-compatible stores (unset: AWS); credentials come from the AWS chain",
    parse: parseUrl,
  },
  s3Region: {
    key: "storage.s3.region",
    env: "WHARF_S3_REGION",
    help: "the bucket's region (unset: AWS_REGION or ~/.aws/config, else us-east-1)",
    parse: requireString,
  },
  s3ForcePathStyle: {
    key: "storage.s3.forcePathStyle",
    env: "WHARF_S3_FORCE_PATH_STYLE",
    help: "path-style URLs (ENDPOINT/BUCKET/KEY), which MinIO, Ceph and Swift need",
    parse: parseBoolean,
  },
  s3PublicEndpoint: {
    key: "storage.s3.publicEndpoint",
    env: "WHARF_S3_PUBLIC_ENDPOINT",
    help: "the S3 endpoint as clients reach it, for presigned redirects (default: storage.s3.endpoint)",
    parse: parseUrl,
  },
  storageRedirect: {
    key: "storage.redirect",
    env: "WHARF_STORAGE_REDIRECT",
    help: "s3 only: answer blob GETs with 307 to a presigned URL instead of streaming through the node",
    parse: parseBoolean,
  },
  trustedProxies: {
    key: "http.trustedProxies",
    env: "WHARF_TRUSTED_PROXIES",
    help: "load balancers (addresses or CIDRs, a list; comma-separated in the environment) whose X-Forwarded-For names the client",
    parse: parseAddressList,
  },
  workers: {
    key: "workers",
    env: "WHARF_WORKERS",
    help: "server processes sharing the address (0: one per CPU); each is a full node",
    parse: parseNonNegativeInteger,
  },
};

const defaults = (): ServerConfig => ({
  listen: { host: "127.0.0.1", port: 5000 },
  dataDir: defaultDataDir(),
  logLevel: "info",
  uploadTtlMs: 24 * 3600_000,
  idleTimeoutMs: 60_000,
  bodyTimeoutMs: 30_000,
  shutdownTimeoutMs: 30_000,
  authEnabled: false,
  allowOpen: false,
  authRealm: undefined,
  authService: "wharf",
  tokenTtlMs: 5 * 60_000,
  refreshTtlMs: 30 * 86_400_000,
  maxFailedLogins: 10,
  lockoutMs: 15 * 60_000,
  kinds: [],
  indexNamespaces: [],
  indexDelayMs: 1000,
  gcGraceMs: 3600_000,
  gcIntervalMs: 6 * 3600_000,
  gcUntagged: false,
  uiEnabled: true,
  metadataDriver: "sqlite",
  metadataUrl: undefined,
  metadataPoolSize: 10,
  storageDriver: "filesystem",
  s3Bucket: undefined,
  s3Prefix: "",
  s3Endpoint: undefined,
  s3Region: undefined,
  s3ForcePathStyle: false,
  s3PublicEndpoint: undefined,
  storageRedirect: false,
  trustedProxies: [],
  workers: 0,
});

export interface ConfigSources {
  file?: string;
  env: NodeJS.ProcessEnv;
  flags: Partial<Record<keyof ServerConfig, string>>;
}

/** Flags over environment over file over defaults. */
export async function loadServerConfig(sources: ConfigSources): Promise<ServerConfig> {
  const config = defaults();
  const filePath = sources.file ?? sources.env.WHARF_CONFIG;
  const fileValues = filePath ? await readConfigFile(filePath) : new Map<string, unknown>();
  const keys = Object.keys(settings) as (keyof ServerConfig)[];
  for (const name of keys) {
    const setting = settings[name] as Setting<typeof name>;
    const flag = sources.flags[name];
    const env = sources.env[setting.env];
    if (flag !== undefined) assign(config, name, setting.parse(flag, `--${kebab(name)}`));
    else if (env !== undefined && env !== "") assign(config, name, setting.parse(env, setting.env));
    // A null in the file (`realm: ~`, as --print-config prints unset values) leaves the default.
    else if (fileValues.has(setting.key) && fileValues.get(setting.key) !== null)
      assign(config, name, setting.parse(fileValues.get(setting.key), setting.key));
  }
  checkBackends(config);
  return config;
}

/** Settings that only make sense together. */
function checkBackends(config: ServerConfig): void {
  if (config.metadataDriver === "postgres" && !config.metadataUrl) {
    throw new ConfigError(
      "metadata.url",
      "is required with metadata.driver: postgres (or set WHARF_METADATA_URL)",
    );
  }
  if (config.metadataDriver === "sqlite" && config.metadataUrl) {
    throw new ConfigError("metadata.url", "is only used with metadata.driver: postgres");
  }
  if (config.storageDriver === "s3" && !config.s3Bucket) {
    throw new ConfigError(
      "storage.s3.bucket",
      "is required with storage.driver: s3 (or set WHARF_S3_BUCKET)",
    );
  }
  if (config.storageRedirect && config.storageDriver !== "s3") {
    throw new ConfigError(
      "storage.redirect",
      "needs storage.driver: s3 (a filesystem store streams blobs itself)",
    );
  }
}

/** The number of server processes `workers` asks for (0: one per CPU). */
export function workerCount(config: ServerConfig): number {
  return config.workers > 0 ? config.workers : Math.max(availableParallelism(), 1);
}

const SECRET_MASK = "********";

/** The file-format value of one setting, masked when secret. */
function printable<K extends keyof ServerConfig>(name: K, value: ServerConfig[K]): unknown {
  const setting = settings[name] as Setting<K>;
  if (value === undefined) return null;
  if (setting.secret) return SECRET_MASK;
  return setting.format ? setting.format(value as Exclude<ServerConfig[K], undefined>) : value;
}

/**
 * The effective configuration as a nested mapping with the file's keys (what `--print-config` prints):
 * valid as a configuration file, secrets masked.
 */
export function printableConfig(config: ServerConfig): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const name of Object.keys(settings) as (keyof ServerConfig)[]) {
    const path = settings[name].key.split(".");
    let node = root;
    for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1] ?? name] = printable(name, config[name]);
  }
  return root;
}

/** Every setting with its file key, environment variable and default, for `wharf serve --help`. */
export function settingsHelp(): string {
  const initial = defaults();
  const rows = (Object.keys(settings) as (keyof ServerConfig)[]).map((name) => {
    const setting = settings[name];
    const value = printable(name, initial[name]);
    return [setting.key, setting.env, value === null ? "(none)" : String(value), setting.help];
  });
  rows.unshift(["FILE KEY", "ENVIRONMENT", "DEFAULT", "MEANING"]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const pad = (text: string, i: number) => text.padEnd(widths[i] ?? 0);
  return rows
    .map(([key = "", env = "", value = "", help = ""]) =>
      `  ${pad(key, 0)}  ${pad(env, 1)}  ${pad(value, 2)}  ${help}`.trimEnd(),
    )
    .join("\n");
}

function assign<K extends keyof ServerConfig>(config: ServerConfig, name: K, value: ServerConfig[K]): void {
  config[name] = value;
}

async function readConfigFile(path: string): Promise<Map<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError("--config", `cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError("--config", `${path} is not valid YAML: ${(err as Error).message}`);
  }
  const values = new Map<string, unknown>();
  if (doc === null || doc === undefined) return values;
  flatten(doc, "", values);
  const known = new Set(Object.values(settings).map((s) => s.key));
  for (const key of values.keys()) {
    if (!known.has(key)) throw new ConfigError(key, "unknown key");
  }
  return values;
}

/** Keys whose value is a structure of its own, validated as a whole (not split into dotted keys). */
const STRUCTURED_KEYS = new Set(["kinds"]);

function flatten(value: unknown, prefix: string, into: Map<string, unknown>): void {
  const structured = STRUCTURED_KEYS.has(prefix);
  if (!structured && typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, into);
    return;
  }
  if (!prefix) throw new ConfigError("--config", "the file must hold a mapping of keys");
  into.set(prefix, value);
}

function parseListen(value: unknown, key: string): ServerConfig["listen"] {
  const text = requireString(value, key);
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(key, `expected HOST:PORT, got ${JSON.stringify(text)}`);
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 };

/** Durations: "500ms", "30s", "10m", "24h", "7d", or a bare number of milliseconds. */
export function parseDuration(value: unknown, key: string): number {
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  const text = requireString(value, key);
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new ConfigError(key, `expected a duration such as 30s, 10m or 24h, got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * (UNITS[match[2] ?? "ms"] ?? 1));
}

function parseBoolean(value: unknown, key: string): boolean {
  if (typeof value === "boolean") return value;
  const text = requireString(value, key).toLowerCase();
  if (["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  throw new ConfigError(key, `expected true or false, got ${JSON.stringify(text)}`);
}

function parseNonNegativeInteger(value: unknown, key: string): number {
  const number = Number(typeof value === "number" ? value : requireString(value, key));
  if (!Number.isInteger(number) || number < 0 || number > 256) {
    throw new ConfigError(key, "must be a whole number from 0 to 256");
  }
  return number;
}

/** IPv4/IPv6 addresses, optionally with a /prefix length. */
function parseAddressList(value: unknown, key: string): string[] {
  const items =
    typeof value === "string"
      ? value
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  if (!Array.isArray(items)) throw new ConfigError(key, "must be a list of addresses or CIDR ranges");
  return items.map((item: unknown) => {
    const text = typeof item === "string" ? item : "";
    const [address = "", prefix, extra] = text.split("/");
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(
        key,
        `${JSON.stringify(item)} is not an address or CIDR range such as 10.0.0.0/8`,
      );
    }
    return text;
  });
}

function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T {
  const text = requireString(value, key);
  if (!(allowed as readonly string[]).includes(text)) {
    throw new ConfigError(key, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(text)}`);
  }
  return text as T;
}

function parsePostgresUrl(value: unknown, key: string): string {
  const text = requireString(value, key);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(key, "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(key, `expected a postgres:// URL, got ${url.protocol}//…`);
  }
  return text;
}

/** A key prefix: no leading slash, always a trailing one, plain path characters only. */
function parsePrefix(text: string, key: string): string {
  const trimmed = text.replace(/^\/+/, "");
  if (!/^[A-Za-z0-9._\-/]*$/.test(trimmed) || trimmed.split("/").some((p) => p === "." || p === "..")) {
    throw new ConfigError(key, "may hold letters, digits, '.', '_', '-' and '/' only");
  }
  return trimmed === "" || trimmed.endsWith("/") ? trimmed : `${trimmed}/`;
}

function parsePositiveInteger(value: unknown, key: string): number {
  const number = Number(typeof value === "number" ? value : requireString(value, key));
  if (!Number.isInteger(number) || number < 1) throw new ConfigError(key, "must be a positive integer");
  return number;
}

/** A list of kinds (in the environment: the same list as YAML or JSON text). */
function parseKinds(value: unknown, key: string): Kind[] {
  let entries = value;
  if (typeof value === "string") {
    try {
      entries = parseYaml(value) as unknown;
    } catch (err) {
      throw new ConfigError(key, `is not valid YAML: ${(err as Error).message}`);
    }
  }
  try {
    return validateKinds(entries, BUILTIN_KINDS, "kinds");
  } catch (err) {
    if (err instanceof KindsError) throw new ConfigError(key, err.message);
    throw err;
  }
}

/** A list of namespaces (in the environment: comma-separated); `/` or "" is the registry's top level. */
function parseNamespaces(value: unknown, key: string): string[] {
  const items = typeof value === "string" ? value.split(",").map((s) => s.trim()) : value;
  if (!Array.isArray(items)) throw new ConfigError(key, "must be a list of namespaces");
  const namespaces = items.map((item: unknown) => {
    if (typeof item !== "string") throw new ConfigError(key, `${JSON.stringify(item)} is not a namespace`);
    const name = item.replace(/^\/+|\/+$/g, "");
    if (name !== "" && !isValidRepositoryName(name))
      throw new ConfigError(
        key,
        `${JSON.stringify(item)} is not a repository path such as team or team/charts`,
      );
    return name;
  });
  return [...new Set(namespaces)];
}

function parseUrl(value: unknown, key: string): string {
  const text = requireString(value, key);
  try {
    const url = new URL(text);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
  } catch {
    throw new ConfigError(key, `expected an http(s) URL, got ${JSON.stringify(text)}`);
  }
  return text;
}

function formatListen(listen: ServerConfig["listen"]): string {
  return `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${listen.port}`;
}

/** The largest unit that spells the duration exactly: 86400000 -> "1d", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) {
    const size = UNITS[unit] ?? 1;
    if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A URL with any user:password part masked (a realm should carry none, but must not leak one). */
function maskUrlCredentials(text: string): string {
  const url = new URL(text);
  if (!url.username && !url.password) return text;
  url.username = SECRET_MASK;
  url.password = "";
  return url.toString();
}

/** A database URL with its password masked; the user name stays (it says which role is used). */
export function maskUrlPassword(text: string): string {
  const url = new URL(text);
  const secretParams = [...url.searchParams.keys()].filter((k) => /pass|secret|key/i.test(k));
  if (!url.password && secretParams.length === 0) return text;
  if (url.password) url.password = SECRET_MASK;
  for (const key of secretParams) url.searchParams.set(key, SECRET_MASK);
  return url.toString();
}

/** Loopback addresses: the only ones a registry without authentication may listen on by default. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function requireString(value: unknown, key: string): string {
  if (typeof value === "number") return String(value);
  if (typeof value !== "string" || value === "") throw new ConfigError(key, "must be a non-empty string");
  return value;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
