import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./errors.js";
import { helperErase, helperGet, helperStore } from "./credential-helper.js";

/** What a registry accepts: a username and password, or an identity (refresh) token. */
export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (`identitytoken`, `<token>` user in helpers), exchanged for access tokens. */
  identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** Where credentials ended up, for the user to know. */
export type StoredIn = { kind: "file"; path: string } | { kind: "helper"; helper: string };

/** Docker Hub keeps its historical key in Docker configs. */
const DOCKER_HUB_KEY = "https://index.docker.io/v1/";

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
}

/**
 * The Docker client configuration (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`) as
 * docker, podman, helm and oras read it: inline `auths`, a default `credsStore`, per-host `credHelpers`.
 */
export class DockerConfig {
  readonly path: string;

  private constructor(
    private readonly dir: string,
    private data: ConfigFile,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.path = join(dir, "config.json");
  }

  static async load(env: NodeJS.ProcessEnv = process.env): Promise<DockerConfig> {
    const dir = dockerConfigDir(env);
    const path = join(dir, "config.json");
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return new DockerConfig(dir, {}, env);
      throw err;
    }
    try {
      const data = JSON.parse(text) as unknown;
      if (typeof data !== "object" || data === null || Array.isArray(data)) throw new Error("not an object");
      return new DockerConfig(dir, data as ConfigFile, env);
    } catch (err) {
      throw new UsageError(`${path} is not a valid Docker config: ${(err as Error).message}`);
    }
  }

  /** Credentials for a registry host: its credential helper, else the default store, else `auths`. */
  async get(host: string): Promise<Credentials | undefined> {
    const helper = this.helperFor(host);
    if (helper) {
      const found = await helperGet(helper, serverUrl(host), this.env);
      if (found) {
        return found.username === "<token>"
          ? { identityToken: found.secret }
          : { username: found.username, password: found.secret };
      }
      // A store may still leave inline entries behind (written before it was configured).
    }
    const entry = this.entryFor(host);
    if (!entry) return undefined;
    const creds: Credentials = {};
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) {
        creds.username = decoded.slice(0, colon);
        creds.password = decoded.slice(colon + 1);
      }
    }
    if (entry.username) creds.username = entry.username;
    if (entry.password) creds.password = entry.password;
    if (entry.identitytoken) creds.identityToken = entry.identitytoken;
    return creds.password !== undefined || creds.identityToken ? creds : undefined;
  }

  async store(host: string, creds: { username: string; password: string }): Promise<StoredIn> {
    const helper = this.helperFor(host);
    const key = configKey(host);
    const auths = { ...(this.data.auths ?? {}) };
    if (helper) {
      await helperStore(
        helper,
        serverUrl(host),
        { username: creds.username, secret: creds.password },
        this.env,
      );
      // Docker keeps an empty entry so that tools know a login exists for the host.
      auths[key] = {};
      this.data = { ...this.data, auths };
      await this.save();
      return { kind: "helper", helper };
    }
    const auth = Buffer.from(`${creds.username}:${creds.password}`, "utf8").toString("base64");
    auths[key] = { auth };
    this.data = { ...this.data, auths };
    await this.save();
    return { kind: "file", path: this.path };
  }

  /** Removes a host's credentials from its helper and from `auths`; false when there were none. */
  async erase(host: string): Promise<boolean> {
    let removed = false;
    const helper = this.helperFor(host);
    if (helper) removed = await helperErase(helper, serverUrl(host), this.env);
    const auths = { ...(this.data.auths ?? {}) };
    for (const key of Object.keys(auths)) {
      if (hostOfKey(key) === canonicalHost(host)) {
        delete auths[key];
        removed = true;
      }
    }
    if (removed) {
      this.data = { ...this.data, auths };
      await this.save();
    }
    return removed;
  }

  private helperFor(host: string): string | undefined {
    const helpers = this.data.credHelpers ?? {};
    for (const [key, name] of Object.entries(helpers))
      if (hostOfKey(key) === canonicalHost(host)) return name;
    return this.data.credsStore || undefined;
  }

  private entryFor(host: string): AuthEntry | undefined {
    const auths = this.data.auths ?? {};
    for (const [key, entry] of Object.entries(auths))
      if (hostOfKey(key) === canonicalHost(host)) return entry;
    return undefined;
  }

  /** Atomic and private: the file holds secrets, and a crash must not leave half of it. */
  private async save(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.config.json.${randomBytes(6).toString("hex")}`);
    try {
      await writeFile(tmp, `${JSON.stringify(this.data, null, "\t")}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

/** Docker Hub answers as registry-1.docker.io but stores credentials under its old index URL. */
function canonicalHost(host: string): string {
  const h = host.toLowerCase();
  return h === "registry-1.docker.io" || h === "index.docker.io" ? "docker.io" : h;
}

function hostOfKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").split("/")[0] ?? "";
  return canonicalHost(host);
}

function configKey(host: string): string {
  return canonicalHost(host) === "docker.io" ? DOCKER_HUB_KEY : host;
}

function serverUrl(host: string): string {
  return configKey(host);
}
