import { Deadline } from "./deadline.js";
import { DockerConfig, type Credentials } from "./docker-config.js";
import { HttpAgents } from "./http.js";
import { formatLocation, Resolver, type Resolved } from "./defaults/index.js";
import type { Reference } from "./reference.js";
import { RegistryClient } from "./registry.js";
import { DEFAULT_RETRY, type RetryOptions } from "./retry.js";
import { Transport } from "./transport.js";
import type { UploadOptions } from "./upload.js";

export interface ClientOptions {
  /** Environment for WHARF_REGISTRY, DOCKER_CONFIG and HOME (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Speak plain HTTP to every registry of this client (loopback registries always get it). */
  plainHttp?: boolean;
  /** Extra trusted CA certificates (PEM contents). */
  ca?: Buffer[];
  /** Credentials per registry host instead of the Docker config (e.g. while logging in). */
  credentials?: (host: string) => Promise<Credentials | undefined>;
  retry?: Partial<RetryOptions>;
  /** Transfers in flight at once (default 4). */
  concurrency?: number;
  /** Upload chunking: see UploadOptions. */
  chunkSize?: number;
  chunkThreshold?: number;
  /** Hears about retries (verbose output). */
  onRetry?: (message: string) => void;
  /** Idle time after which a connection is considered stalled. */
  idleTimeoutMs?: number;
  /** How long a new connection may take (default 10 s). */
  connectTimeoutMs?: number;
  /** How long a GET or HEAD may wait for its response headers (default 20 s). */
  responseTimeoutMs?: number;
  /** Deadline for everything this client does, counted from its first request (default: none). */
  timeoutMs?: number;
}

/**
 * Entry point of the client library: one per command or program. Holds the connection pools, the
 * per-registry auth state and the Docker config, and hands out a RegistryClient per host.
 */
export class Client {
  readonly env: NodeJS.ProcessEnv;
  readonly concurrency: number;
  readonly retry: RetryOptions;
  private readonly agents: HttpAgents;
  private started: Deadline | undefined;
  private readonly registries = new Map<string, RegistryClient>();
  private dockerConfig: Promise<DockerConfig> | undefined;
  /** Short names: WHARF_REGISTRY, the client config file and its per-kind defaults. */
  readonly resolver: Resolver;

  constructor(readonly options: ClientOptions = {}) {
    this.env = options.env ?? process.env;
    this.concurrency = options.concurrency ?? 4;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.resolver = new Resolver(this.env);
    this.agents = new HttpAgents({
      ca: options.ca,
      idleTimeoutMs: options.idleTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      responseTimeoutMs: options.responseTimeoutMs,
      maxSockets: Math.max(this.concurrency * 2, 8),
    });
  }

  /** Starts with the first request, so time spent at a password prompt does not count. */
  get deadline(): Deadline {
    this.started ??= Deadline.after(this.options.timeoutMs);
    return this.started;
  }

  /** The default for short names (`oci://host[/namespace]`): WHARF_REGISTRY, else the config file's. */
  get defaultRegistry(): string | undefined {
    const chosen = this.resolver.defaultFor();
    return chosen ? formatLocation(chosen.location) : undefined;
  }

  /** A reference as the user wrote it; short names through the defaults (for `kind`, its own first). */
  parse(reference: string, options: { kind?: string } = {}): Reference {
    return this.resolver.resolve(reference, options).ref;
  }

  /** As parse, and which default a short name went through (for `wharf info`). */
  resolve(reference: string, options: { kind?: string } = {}): Resolved {
    return this.resolver.resolve(reference, options);
  }

  registry(host: string): RegistryClient {
    let client = this.registries.get(host);
    if (!client) {
      const transport = new Transport(host, {
        agents: this.agents,
        plainHttp: this.options.plainHttp,
        credentials: () =>
          this.options.credentials ? this.options.credentials(host) : this.credentialsFor(host),
        retry: this.retry,
        onRetry: this.options.onRetry,
        deadline: this.deadline,
      });
      client = new RegistryClient(transport);
      this.registries.set(host, client);
    }
    return client;
  }

  uploadOptions(onProgress?: (sent: number) => void): UploadOptions {
    return {
      chunkSize: this.options.chunkSize,
      chunkThreshold: this.options.chunkThreshold,
      retry: this.retry,
      onRetry: this.options.onRetry,
      onProgress,
    };
  }

  config(): Promise<DockerConfig> {
    this.dockerConfig ??= DockerConfig.load(this.env);
    return this.dockerConfig;
  }

  /** Frees connections so the process can exit. */
  close(): void {
    this.agents.destroy();
  }

  private async credentialsFor(host: string): Promise<Credentials | undefined> {
    return (await this.config()).get(host);
  }
}
