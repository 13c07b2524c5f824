import type { Client } from "../client.js";
import { TagPolicyError } from "../../oci/tag-policy/index.js";
import { AuthError, NotFoundError, RegistryResponseError, UsageError, errorMessage } from "../errors.js";
import { basicHeader } from "../auth.js";
import { discard, header, readBody, type HttpResponse } from "../http.js";
import type { RegistryClient } from "../registry.js";
import { responseError } from "../transport.js";
import {
  readArtifact,
  readArtifactDetail,
  readKind,
  readRepositoryName,
  readResolution,
  type ApiArtifact,
  type ApiArtifactDetail,
  type ApiKind,
  type ApiResolution,
} from "./api-shapes.js";

/** The largest page the API serves. */
const PAGE_SIZE = 1000;
/** A listing stops (and says it is incomplete) after this many entries. */
export const MAX_ENTRIES = 10_000;
/** One page of JSON: 1000 entries of a few hundred bytes each, with room to spare. */
const BODY_LIMIT = 8 * 1024 * 1024;

export interface Bounded<T> {
  items: T[];
  /** The listing stopped at MAX_ENTRIES. */
  truncated: boolean;
}

/**
 * Wharf's discovery API (`/api/v1/`) on one registry. `open` tells a Wharf registry from any other by
 * asking for its kinds anonymously (nothing is sent to a registry that is not Wharf); once it is known
 * to be Wharf, requests carry the stored credentials as Basic auth, since the API answers every caller
 * with what that caller may pull (anonymous callers included) rather than with a challenge.
 */
export class WharfApi {
  private constructor(
    private readonly client: Client,
    private readonly registry: RegistryClient,
    readonly kinds: ApiKind[],
    private readonly authorization: string | undefined,
  ) {}

  get host(): string {
    return this.registry.host;
  }

  /** The API of `host`, or undefined when it has none (not a Wharf registry). */
  static async open(client: Client, host: string): Promise<WharfApi | undefined> {
    const registry = client.registry(host);
    let res: HttpResponse;
    try {
      res = await registry.transport.request({
        method: "GET",
        path: "/api/v1/kinds",
        query: { n: String(PAGE_SIZE) },
        headers: { accept: "application/json" },
        scopes: [],
      });
    } catch (err) {
      // A registry that challenges for a path it does not serve is still not Wharf.
      if (err instanceof AuthError) return undefined;
      throw err;
    }
    if (res.status !== 200 || !isJson(res)) {
      discard(res);
      return undefined;
    }
    const body = await readJson(res, "/api/v1/kinds").catch(() => undefined);
    const list = (body as { kinds?: unknown } | undefined)?.kinds;
    if (!Array.isArray(list)) return undefined;
    const kinds = list.map(readKind).filter((k): k is ApiKind => k !== null);
    // The catalogue is short (tens of kinds); a next page is followed all the same.
    const next = nextLink(res);
    const api = new WharfApi(client, registry, kinds, await authorizationFor(client, host));
    if (next) kinds.push(...(await api.pages(next, "kinds", readKind)).items);
    return api;
  }

  /** Names of the repositories the caller may pull, optionally only those holding a kind. */
  async repositories(kind?: string): Promise<Bounded<string>> {
    return this.pages(this.url("/api/v1/repositories", { kind }), "repositories", readRepositoryName);
  }

  /** A repository's top-level artifacts (accessories are summarised under each). */
  async artifacts(repository: string, kind?: string): Promise<Bounded<ApiArtifact>> {
    return this.pages(
      this.url(`/api/v1/repositories/${repository}/artifacts`, { kind }),
      "artifacts",
      (entry) => readArtifact(entry, repository),
    );
  }

  /** Everything known of one artifact, or undefined when the registry has no facts for it (yet). */
  async artifact(repository: string, reference: string): Promise<ApiArtifactDetail | undefined> {
    const separator = reference.includes(":") ? "@" : ":";
    const path = `/api/v1/artifacts/${repository}${separator}${reference}`;
    const res = await this.get(path);
    if (res.status === 404) {
      discard(res);
      return undefined;
    }
    if (res.status !== 200) throw await this.failure(res, path);
    const detail = readArtifactDetail(await readJson(res, path));
    if (!detail)
      throw new RegistryResponseError(`${this.host} answered ${path} with an unexpected shape`, 200);
    return detail;
  }

  /** Search results, most relevant first. */
  async search(request: {
    q?: string;
    kind?: string;
    annotations?: string[];
  }): Promise<Bounded<ApiArtifact>> {
    const url = this.url("/api/v1/search", {
      q: request.q,
      kind: request.kind,
      annotation: request.annotations,
    });
    return this.pages(url, "results", (entry) => readArtifact(entry));
  }

  /**
   * The tag a policy picks, resolved by the registry in one request (GET /api/v1/repositories/NAME/resolve
   * with the policy as query parameters): null when no tag matches, undefined when this Wharf has no such
   * endpoint (older versions). A policy the registry cannot apply is a TagPolicyError with its words; a
   * repository that does not exist (to this caller) a NotFoundError.
   */
  async resolve(
    repository: string,
    query: Record<string, string>,
  ): Promise<ApiResolution | null | undefined> {
    const path = `/api/v1/repositories/${repository}/resolve`;
    const res = await this.get(this.registry.transport.resolve(path, query).toString());
    if (res.status === 200) {
      const resolution = readResolution(await readJson(res, path));
      if (!resolution)
        throw new RegistryResponseError(`${this.host} answered ${path} with an unexpected shape`, 200);
      return resolution;
    }
    if (res.status !== 400 && res.status !== 404) throw await this.failure(res, path);
    const error = readError(await readJson(res, path).catch(() => undefined));
    if (res.status === 400) throw new TagPolicyError(error?.message ?? `${this.host} refused the policy`);
    if (error?.code === "MANIFEST_UNKNOWN") return null;
    if (error?.code === "NAME_UNKNOWN") {
      // Anonymous callers are shown only what anonymous may pull: "not found" may mean "log in".
      const hint = (await this.anonymousWhereLoginIsWanted()) ? ` (${this.loginHint()})` : "";
      throw new NotFoundError(`${this.host}/${repository} not found${hint}`);
    }
    return undefined;
  }

  /**
   * Whether this caller is anonymous on a registry that wants a login. The API shows anonymous callers
   * only what anonymous may pull, so an empty answer may mean "log in" rather than "nothing here".
   * Such registries still hand anonymous callers a token: what tells is that they asked for one.
   */
  async anonymousWhereLoginIsWanted(): Promise<boolean> {
    if (this.authorization) return false;
    await this.registry.transport.ping().catch(() => undefined);
    return this.registry.transport.anonymous;
  }

  loginHint(): string {
    return `anonymous callers see only what anonymous may pull: run \`wharf login ${this.host}\``;
  }

  private url(path: string, query: Record<string, string | string[] | undefined>): string {
    return this.registry.transport.resolve(path, { ...query, n: String(PAGE_SIZE) }).toString();
  }

  private get(path: string): Promise<HttpResponse> {
    return this.registry.transport.request({
      method: "GET",
      path,
      headers: {
        accept: "application/json",
        ...(this.authorization ? { authorization: this.authorization } : {}),
      },
      scopes: [],
    });
  }

  /** Follows `Link: rel="next"` from `url`, reading `field` of each page, up to MAX_ENTRIES. */
  private async pages<T>(
    url: string,
    field: string,
    read: (entry: unknown) => T | null,
  ): Promise<Bounded<T>> {
    const items: T[] = [];
    let next: string | undefined = url;
    while (next) {
      const res: HttpResponse = await this.get(next);
      const what: string = new URL(next).pathname;
      if (res.status !== 200) throw await this.failure(res, what);
      const list: unknown = ((await readJson(res, what)) as Record<string, unknown> | null)?.[field];
      if (!Array.isArray(list)) {
        throw new RegistryResponseError(`${this.host} answered ${what} without a ${field} list`, 200);
      }
      for (const entry of list) {
        const item = read(entry);
        if (item === null) continue;
        if (items.length >= MAX_ENTRIES) return { items, truncated: true };
        items.push(item);
      }
      next = list.length > 0 ? nextLink(res) : undefined;
    }
    return { items, truncated: false };
  }

  /** A bad filter (an unknown kind, say) is the user's to fix: a usage error with the server's words. */
  private async failure(res: HttpResponse, what: string): Promise<Error> {
    const err = await responseError(res, `${this.host} ${what}`);
    if (res.status === 400) return new UsageError(errorMessage(err));
    return err;
  }
}

async function authorizationFor(client: Client, host: string): Promise<string | undefined> {
  const credentials = client.options.credentials
    ? await client.options.credentials(host)
    : (await client.config()).get(host);
  return basicHeader(await credentials);
}

function isJson(res: HttpResponse): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(header(res, "content-type") ?? "");
}

async function readJson(res: HttpResponse, what: string): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readBody(res, BODY_LIMIT);
  } catch (err) {
    throw new RegistryResponseError(`${res.url.host} ${what}: ${errorMessage(err)}`, res.status);
  }
  try {
    return JSON.parse(bytes.toString("utf8")) as unknown;
  } catch {
    throw new RegistryResponseError(`${res.url.host} answered ${what} with invalid JSON`, res.status);
  }
}

/** `Link: </api/v1/…?last=x>; rel="next"` → the absolute URL. */
function nextLink(res: HttpResponse): string | undefined {
  const link = header(res, "link");
  const match = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  return match?.[1] ? new URL(match[1], res.url).toString() : undefined;
}

/** The first error of an OCI error body. */
function readError(body: unknown): { code?: string; message?: string } | undefined {
  const first: unknown = (body as { errors?: unknown[] } | undefined)?.errors?.[0];
  if (!first || typeof first !== "object") return undefined;
  const { code, message } = first as Record<string, unknown>;
  return {
    ...(typeof code === "string" ? { code } : {}),
    ...(typeof message === "string" ? { message } : {}),
  };
}
