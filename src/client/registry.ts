import type { Readable } from "node:stream";
import { MediaType } from "../oci/media-types.js";
import { essenceOf } from "../oci/media-types.js";
import {
  AuthError,
  IntegrityError,
  NotFoundError,
  RegistryResponseError,
  TimeoutError,
  errorMessage,
} from "./errors.js";
import { discard, header, readBody, type HttpResponse } from "./http.js";
import {
  MANIFEST_ACCEPT,
  MANIFEST_LIMIT,
  decodeManifest,
  type Descriptor,
  type IndexManifest,
  type ManifestData,
} from "./manifest.js";
import { responseError, type Transport } from "./transport.js";
import { digestLike, verified } from "./verify.js";
import { uploadBlob, type BlobSource, type UploadOptions } from "./upload.js";

export interface Page<T> {
  items: T[];
  /** URL of the next page (from the Link header), if any. */
  next: string | undefined;
}

export interface PageOptions {
  n?: number;
  last?: string;
}

/** The OCI Distribution API of one registry: manifests, blobs, uploads, listings, referrers. */
export class RegistryClient {
  constructor(readonly transport: Transport) {}

  get host(): string {
    return this.transport.host;
  }

  /**
   * Tag or digest → descriptor, by HEAD (which registries do not count against pull limits). With
   * `timeoutMs`, gives up (TimeoutError) when there is no answer by then, e.g. to use a cached answer.
   */
  async resolve(
    repository: string,
    reference: string,
    options: { timeoutMs?: number } = {},
  ): Promise<Descriptor> {
    const res = await this.transport.request({
      method: "HEAD",
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pull(repository)],
      timeoutMs: options.timeoutMs,
    });
    if (res.status !== 200) {
      discard(res);
      throw await this.manifestError(res, repository, reference);
    }
    discard(res);
    const digest = header(res, "docker-content-digest");
    const mediaType = header(res, "content-type");
    const size = Number(header(res, "content-length") ?? "NaN");
    if (digest && mediaType && Number.isSafeInteger(size)) {
      if (reference.includes(":") && digest !== reference) {
        throw new IntegrityError(`${this.host} answered ${reference} with a manifest of digest ${digest}`);
      }
      return { mediaType: essenceOf(mediaType), digest, size };
    }
    // Some registries omit the digest on HEAD: fetch the manifest and compute it.
    const data = await this.getManifest(repository, reference, options);
    return { mediaType: data.mediaType, digest: data.digest, size: data.bytes.length };
  }

  /** Fetches a manifest and verifies it: against the digest asked for, or the one the registry claims. */
  async getManifest(
    repository: string,
    reference: string,
    options: { timeoutMs?: number } = {},
  ): Promise<ManifestData> {
    const res = await this.transport.request({
      method: "GET",
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [pull(repository)],
      timeoutMs: options.timeoutMs,
    });
    if (res.status !== 200) throw await this.manifestError(res, repository, reference);
    let bytes: Buffer;
    try {
      bytes = await readBody(res, MANIFEST_LIMIT);
    } catch (err) {
      if (err instanceof TimeoutError) throw err; // the deadline ran out while reading: not bad data
      throw new IntegrityError(`manifest ${repository}:${reference} from ${this.host}: ${errorMessage(err)}`);
    }
    const claimed = header(res, "docker-content-digest");
    const expected = reference.includes(":") ? reference : claimed;
    const digest = digestLike(bytes, expected);
    if (expected && digest !== expected) {
      throw new IntegrityError(
        `manifest ${repository}@${expected} from ${this.host} does not match its digest (got ${digest})`,
      );
    }
    const declared = header(res, "content-type");
    const mediaType = declared ? essenceOf(declared) : mediaTypeFromBody(bytes);
    const data = { bytes, mediaType, digest: expected ?? digest };
    decodeManifest(data);
    return data;
  }

  /** Stores a manifest under a tag or its digest; says whether the registry indexed its subject. */
  async putManifest(
    repository: string,
    reference: string,
    data: ManifestData,
  ): Promise<{ digest: string; subjectIndexed: boolean }> {
    const res = await this.transport.request({
      method: "PUT",
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { "content-type": data.mediaType },
      body: data.bytes,
      scopes: [push(repository)],
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) {
      throw await responseError(res, `push of manifest ${repository}:${reference} to ${this.host}`);
    }
    discard(res);
    const digest = header(res, "docker-content-digest") ?? data.digest;
    if (digest !== data.digest) {
      throw new IntegrityError(`${this.host} stored manifest ${data.digest} as ${digest}`);
    }
    return { digest, subjectIndexed: header(res, "oci-subject") !== undefined };
  }

  async deleteManifest(repository: string, reference: string): Promise<void> {
    const res = await this.transport.request({
      method: "DELETE",
      path: `/v2/${repository}/manifests/${reference}`,
      scopes: [`repository:${repository}:delete`],
    });
    if (res.status === 202 || res.status === 200 || res.status === 204) return discard(res);
    if (res.status === 404) throw await this.manifestError(res, repository, reference);
    const err = await responseError(res, `delete of ${repository}:${reference} on ${this.host}`);
    if (!reference.includes(":") && (res.status === 400 || res.status === 405)) {
      err.message +=
        " (this registry cannot delete tags; delete the manifest by digest, which removes all its tags)";
    }
    throw err;
  }

  /**
   * The blob's size if the repository has it, else undefined. `forPush` asks for the push scope right
   * away, as the check before an upload: one token for both, and a refusal that names the push.
   */
  async blobSize(repository: string, digest: string, forPush = false): Promise<number | undefined> {
    const res = await this.transport.request({
      method: "HEAD",
      path: `/v2/${repository}/blobs/${digest}`,
      scopes: [forPush ? push(repository) : pull(repository)],
    });
    discard(res);
    if (res.status === 200) return Number(header(res, "content-length") ?? "0");
    if (res.status === 404) return undefined;
    throw await responseError(res, `check of blob ${digest} in ${repository} on ${this.host}`);
  }

  /** A stream of the blob that fails unless the content matches the descriptor's digest and size. */
  async getBlob(repository: string, descriptor: Descriptor): Promise<Readable> {
    const res = await this.transport.request({
      method: "GET",
      path: `/v2/${repository}/blobs/${descriptor.digest}`,
      scopes: [pull(repository)],
    });
    if (res.status !== 200) {
      const err = await responseError(res, `blob ${descriptor.digest} in ${repository} on ${this.host}`);
      throw err;
    }
    return verified(res.body, descriptor, `blob ${descriptor.digest} from ${this.host}/${repository}`);
  }

  /** Uploads a blob unless the repository already has it. */
  async pushBlob(
    repository: string,
    descriptor: Descriptor,
    source: BlobSource,
    options: UploadOptions = {},
  ) {
    if ((await this.blobSize(repository, descriptor.digest, true)) !== undefined) return { uploaded: false };
    await uploadBlob(this.transport, repository, descriptor, source, options);
    return { uploaded: true };
  }

  /** Cross-repository mount; false when the registry would rather have the bytes. */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    const res = await this.transport.request({
      method: "POST",
      path: `/v2/${repository}/blobs/uploads/`,
      query: { mount: digest, from },
      scopes: [push(repository), pull(from)],
    });
    discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      // It opened an ordinary session instead; close it rather than leave it to expire.
      const location = header(res, "location");
      if (location) {
        await this.transport
          .request({ method: "DELETE", path: location, scopes: [push(repository)], retry: false })
          .then(discard, () => undefined);
      }
      return false;
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) return false;
    throw await responseError(res, `mount of ${digest} into ${repository} on ${this.host}`);
  }

  async tagsPage(repository: string, options: PageOptions = {}, url?: string): Promise<Page<string>> {
    const res = await this.transport.request({
      method: "GET",
      path: url ?? `/v2/${repository}/tags/list`,
      query: url ? undefined : pageQuery(options),
      scopes: [pull(repository)],
    });
    if (res.status !== 200) {
      if (res.status === 404)
        throw (
          (await this.transport.notARegistryError()) ??
          (await responseError(res, `tags of ${repository} on ${this.host}`))
        );
      throw await responseError(res, `tags of ${repository} on ${this.host}`);
    }
    const body = await readJson<{ tags?: string[] | null }>(res);
    return { items: body.tags ?? [], next: nextLink(res) };
  }

  /**
   * Whether the repository's tags may have changed since the tag list answered `etag`: one conditional
   * request for a one-tag page. `etag` undefined when the registry sends none (Distribution): then every
   * answer is "changed", and callers are better off not asking (see watchTags).
   */
  async tagsChanged(repository: string, etag?: string): Promise<{ changed: boolean; etag?: string }> {
    const res = await this.transport.request({
      method: "GET",
      path: `/v2/${repository}/tags/list`,
      query: { n: "1" },
      headers: etag ? { "if-none-match": etag } : {},
      scopes: [pull(repository)],
    });
    discard(res);
    if (res.status === 304) return { changed: false, etag };
    if (res.status === 200) return { changed: true, etag: header(res, "etag") };
    if (res.status === 404)
      throw (
        (await this.transport.notARegistryError()) ??
        new NotFoundError(`repository ${this.host}/${repository} not found`)
      );
    throw await responseError(res, `tags of ${repository} on ${this.host}`);
  }

  /**
   * One page of at most `n` tags after `last`, in lexical order, also from registries that ignore `n`
   * and `last` and answer everything unsorted (Distribution 2.x): then the page is cut here.
   */
  async tagPage(repository: string, options: PageOptions): Promise<{ tags: string[]; more: boolean }> {
    const page = await this.tagsPage(repository, options);
    const { n, last } = options;
    const ignored =
      (n !== undefined && page.items.length > n) || (last !== undefined && page.items.some((t) => t <= last));
    if (!ignored) return { tags: page.items, more: page.next !== undefined };
    const after = [...page.items].sort().filter((t) => last === undefined || t > last);
    const tags = n === undefined ? after : after.slice(0, n);
    return { tags, more: after.length > tags.length || page.next !== undefined };
  }

  /** Every tag, following Link headers. */
  async *tags(repository: string, pageSize?: number): AsyncGenerator<string> {
    let page = await this.tagsPage(repository, pageSize ? { n: pageSize } : {});
    for (;;) {
      yield* page.items;
      if (!page.next || page.items.length === 0) return;
      page = await this.tagsPage(repository, {}, page.next);
    }
  }

  async catalogPage(options: PageOptions = {}, url?: string): Promise<Page<string>> {
    const res = await this.transport.request({
      method: "GET",
      path: url ?? "/v2/_catalog",
      query: url ? undefined : pageQuery(options),
      scopes: ["registry:catalog:*"],
    });
    if (res.status !== 200) {
      if (res.status === 404) {
        const notRegistry = await this.transport.notARegistryError();
        if (notRegistry) throw notRegistry;
      }
      throw await responseError(res, `repository list of ${this.host}`);
    }
    const body = await readJson<{ repositories?: string[] | null }>(res);
    const items = body.repositories ?? [];
    if (items.length === 0 && url === undefined && this.transport.anonymous) {
      // An auth-on registry shows anonymous callers what anonymous may pull: here nothing. An empty
      // list would read as "no repositories"; the truth is that the list needs a login.
      throw new AuthError(
        `the catalog (repository list) of ${this.host} needs a login: run \`wharf login ${this.host}\``,
      );
    }
    return { items, next: nextLink(res) };
  }

  async *catalog(pageSize?: number): AsyncGenerator<string> {
    let page = await this.catalogPage(pageSize ? { n: pageSize } : {});
    for (;;) {
      yield* page.items;
      if (!page.next || page.items.length === 0) return;
      page = await this.catalogPage({}, page.next);
    }
  }

  /**
   * Manifests that name `digest` as their subject: the referrers API, or on registries without it
   * the `sha256-<hex>` tag schema the spec defines as its fallback.
   */
  async referrers(
    repository: string,
    digest: string,
    artifactType?: string,
  ): Promise<{ descriptors: Descriptor[]; api: boolean }> {
    let res = await this.transport.request({
      method: "GET",
      path: `/v2/${repository}/referrers/${digest}`,
      query: { artifactType },
      headers: { accept: MediaType.OciIndex },
      scopes: [pull(repository)],
    });
    const isIndex = (r: HttpResponse) => essenceOf(header(r, "content-type") ?? "") === MediaType.OciIndex;
    if (res.status !== 200 || !isIndex(res)) {
      // Not supported here (404, or some other answer than an index): use the tag schema.
      discard(res);
      const descriptors = await this.referrersByTag(repository, digest);
      return { descriptors: filterType(descriptors, artifactType), api: false };
    }
    const descriptors: Descriptor[] = [];
    for (;;) {
      const filtered = (header(res, "oci-filters-applied") ?? "").includes("artifactType");
      const index = await readJson<IndexManifest>(res);
      const page = index.manifests ?? [];
      descriptors.push(...(filtered ? page : filterType(page, artifactType)));
      const next = nextLink(res);
      if (!next || page.length === 0) break;
      res = await this.transport.request({ method: "GET", path: next, scopes: [pull(repository)] });
      if (res.status !== 200) throw await responseError(res, `referrers of ${digest} on ${this.host}`);
    }
    return { descriptors, api: true };
  }

  /** The fallback index's descriptors (empty when the tag does not exist). */
  async referrersByTag(repository: string, digest: string): Promise<Descriptor[]> {
    try {
      const data = await this.getManifest(repository, referrersTag(digest));
      const decoded = decodeManifest(data);
      return decoded.kind === "index" ? decoded.doc.manifests : [];
    } catch (err) {
      if (err instanceof NotFoundError) return [];
      throw err;
    }
  }

  /**
   * After pushing a manifest with a subject to a registry that did not index it: adds it to the subject's
   * fallback tag index (read-modify-write, as the spec describes).
   */
  async addReferrerByTag(repository: string, subject: string, referrer: Descriptor): Promise<void> {
    const existing = await this.referrersByTag(repository, subject);
    if (existing.some((d) => d.digest === referrer.digest)) return;
    const index: IndexManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [...existing, referrer],
    };
    const bytes = Buffer.from(JSON.stringify(index));
    await this.putManifest(repository, referrersTag(subject), {
      bytes,
      mediaType: MediaType.OciIndex,
      digest: digestLike(bytes),
    });
  }

  private async manifestError(res: HttpResponse, repository: string, reference: string): Promise<Error> {
    const name = `${this.host}/${repository}${reference.includes(":") ? "@" : ":"}${reference}`;
    if (res.status === 404) {
      discard(res);
      return (await this.transport.notARegistryError()) ?? new NotFoundError(`${name} not found`);
    }
    return responseError(res, name);
  }
}

export function referrersTag(digest: string): string {
  return digest.replace(":", "-").slice(0, 128);
}

function pull(repository: string): string {
  return `repository:${repository}:pull`;
}

function push(repository: string): string {
  return `repository:${repository}:pull,push`;
}

function pageQuery(options: PageOptions): Record<string, string | undefined> {
  return { n: options.n === undefined ? undefined : String(options.n), last: options.last };
}

/** `Link: </v2/...?n=2&last=b>; rel="next"` → the URL. */
function nextLink(res: HttpResponse): string | undefined {
  const link = header(res, "link");
  if (!link) return undefined;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(link);
  return match?.[1] ? new URL(match[1], res.url).toString() : undefined;
}

async function readJson<T>(res: HttpResponse): Promise<T> {
  const bytes = await readBody(res, MANIFEST_LIMIT);
  try {
    return JSON.parse(bytes.toString("utf8")) as T;
  } catch {
    throw new RegistryResponseError(
      `${res.url.host} answered ${res.url.pathname} with invalid JSON`,
      res.status,
    );
  }
}

function filterType(descriptors: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType ? descriptors.filter((d) => d.artifactType === artifactType) : descriptors;
}

function mediaTypeFromBody(bytes: Buffer): string {
  try {
    const doc = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === "string") return doc.mediaType;
    return Array.isArray(doc.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
  } catch {
    return MediaType.OciManifest;
  }
}
