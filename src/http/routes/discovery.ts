import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { RegistryError } from "../../oci/errors.js";
import { iconSvg } from "../../oci/kinds/index.js";
import { parsePolicyQuery, policyToQuery, TagPolicyError } from "../../oci/tag-policy/index.js";
import { pageRequest, type Page } from "../../registry/pagination.js";
import type { Visibility } from "../../registry/discovery.js";
import { sendJson } from "../json.js";
import type { Services } from "../server.js";
import { nextLink, queryValue, queryValues, type RouteContext } from "./types.js";

/** Discovery pages: 100 entries unless `n` asks for more, never more than 1000. */
const PAGE_BOUNDS = { defaultSize: 100, maxSize: 1000 };
/** Icons change only when the catalogue does (a restart with other `kinds:`): cache for a day. */
const ICON_CACHE = "public, max-age=86400";

type Query = RouteContext["query"];

/**
 * The discovery API under /api/v1/ (JSON): kinds, repositories, artifacts and search. Registry reads, not
 * admin calls: each answer holds only repositories the caller may pull (anonymous callers included, by
 * the `anonymous` rules), and a repository it may not pull answers as one that does not exist.
 */
export function registerDiscoveryRoutes(app: FastifyInstance, services: Services): void {
  const { registry, guard } = services;
  const discovery = registry.discovery;

  const get = (
    url: string,
    handler: (request: FastifyRequest, reply: FastifyReply, visible: Visibility) => Promise<unknown>,
  ) =>
    app.route({
      method: "GET",
      url: `/api/v1${url}`,
      handler: async (request, reply) => {
        const access = await guard.reader(request, reply);
        const cache = new Map<string, Promise<boolean>>();
        const visible: Visibility = access.restricted
          ? (repository) => {
              let allowed = cache.get(repository);
              if (!allowed) cache.set(repository, (allowed = access.mayPull(repository)));
              return allowed;
            }
          : undefined;
        return handler(request, reply, visible);
      },
    });

  get("/kinds", async (request, reply) => {
    const query = request.query as Query;
    const page = discovery.kindList(
      pageRequest(queryValue(query, "n"), queryValue(query, "last"), PAGE_BOUNDS),
    );
    return sendPage(reply, "/api/v1/kinds", "kinds", page, query);
  });

  get("/kinds/:id/icon.svg", async (request, reply) => {
    const { id } = request.params as { id: string };
    const kind = discovery.kind(id);
    if (!kind) throw new RegistryError("NOT_FOUND", "no such kind", { kind: id.slice(0, 64) });
    const svg = Buffer.from(iconSvg(kind.icon));
    return reply
      .type("image/svg+xml")
      .header("Cache-Control", ICON_CACHE)
      .header("Content-Length", svg.length)
      .send(svg);
  });

  get("/repositories", async (request, reply, visible) => {
    const query = request.query as Query;
    const page = await discovery.repositories(
      { kind: queryValue(query, "kind"), q: queryValue(query, "q") },
      pageRequest(queryValue(query, "n"), queryValue(query, "last"), PAGE_BOUNDS),
      visible,
    );
    return sendPage(reply, "/api/v1/repositories", "repositories", page, query);
  });

  /** The tag a policy picks (query parameters as parsePolicyQuery reads them), in one request. */
  const resolveTag = async (name: string, query: Query, visible: Visibility) => {
    const params: Record<string, string | undefined> = {};
    for (const key of Object.keys(query)) params[key] = queryValue(query, key);
    let policy;
    try {
      policy = parsePolicyQuery(params);
    } catch (err) {
      if (err instanceof TagPolicyError) throw new RegistryError("INVALID_REQUEST", err.message);
      throw err;
    }
    const resolution = await registry.tagResolver.resolve(name, policy, visible);
    return { ...resolution, policy: policyToQuery(policy) };
  };

  get("/repositories/*", async (request, reply, visible) => {
    const query = request.query as Query;
    const rest = (request.params as { "*": string })["*"];
    const resolve = /^(.+)\/resolve$/.exec(rest)?.[1];
    if (resolve !== undefined) return sendJson(reply, await resolveTag(resolve, query, visible));
    const match = /^(.+)\/artifacts$/.exec(rest);
    if (!match?.[1]) {
      throw new RegistryError(
        "NOT_FOUND",
        "expected /api/v1/repositories/NAME/artifacts or /api/v1/repositories/NAME/resolve",
      );
    }
    const name = match[1];
    const page = await discovery.artifacts(
      name,
      queryValue(query, "kind"),
      pageRequest(queryValue(query, "n"), queryValue(query, "last"), PAGE_BOUNDS),
      hostOf(request),
      visible,
    );
    await sendPage(reply, `/api/v1/repositories/${name}/artifacts`, "artifacts", page, query, {
      repository: name,
    });
  });

  // Actions name the registry as the caller reached it: auth.realm's host, or the validated Host.
  const hostOf = (request: FastifyRequest) => new URL(guard.realm(request)).host;

  get("/artifacts/*", async (request, reply, visible) => {
    const rest = (request.params as { "*": string })["*"];
    const { name, reference, view } = splitReference(rest);
    if (view === undefined) {
      return sendJson(reply, await discovery.artifact(name, reference, hostOf(request), visible));
    }
    if (view === "manifest") {
      const manifest = await discovery.manifest(name, reference, visible);
      // Bytes as stored, beside the UI on this origin: never sniffed into anything but their own type.
      return reply
        .type(manifest.mediaType)
        .header("X-Content-Type-Options", "nosniff")
        .header("Docker-Content-Digest", manifest.digest)
        .header("Content-Length", manifest.content.length)
        .send(manifest.content);
    }
    if (view === "files") return sendJson(reply, await discovery.files(name, reference, visible));
    return sendJson(reply, await discovery.file(name, reference, view.file, visible));
  });

  get("/search", async (request, reply, visible) => {
    const query = request.query as Query;
    const page = await discovery.search(
      {
        q: queryValue(query, "q"),
        kind: queryValue(query, "kind"),
        annotations: queryValues(query, "annotation"),
      },
      pageRequest(queryValue(query, "n"), queryValue(query, "last"), PAGE_BOUNDS),
      hostOf(request),
      visible,
    );
    return sendPage(reply, "/api/v1/search", "results", page, query);
  });
}

/** What of an artifact a path asks for: its details (undefined), manifest, file list or one file. */
type ArtifactView = undefined | "manifest" | "files" | { file: string };

/**
 * `NAME:TAG` or `NAME@DIGEST` (a repository name holds neither `:` nor `@`, a tag or digest no `/`),
 * then nothing, `/manifest`, `/files` or `/files/PATH`.
 */
function splitReference(text: string): { name: string; reference: string; view: ArtifactView } {
  const match = /^([^@:]+)(?:@([^/]+)|:([^/]+))(\/.*)?$/.exec(text);
  const name = match?.[1];
  const reference = match?.[2] ?? match?.[3];
  const rest = match?.[4];
  if (name && reference) {
    if (rest === undefined) return { name, reference, view: undefined };
    if (rest === "/manifest" || rest === "/files")
      return { name, reference, view: rest.slice(1) as "manifest" };
    if (rest.startsWith("/files/") && rest.length > "/files/".length) {
      return { name, reference, view: { file: rest.slice("/files/".length) } };
    }
  }
  throw new RegistryError(
    "INVALID_REQUEST",
    "expected /api/v1/artifacts/NAME:TAG or /api/v1/artifacts/NAME@DIGEST, then nothing, /manifest, /files or /files/PATH",
    { reference: text.slice(0, 300) },
  );
}

/** Sends `{field: items}` with a `Link` to the next page that keeps the other parameters. */
function sendPage<T>(
  reply: FastifyReply,
  path: string,
  field: string,
  page: Page<T>,
  query: Query,
  extra: Record<string, unknown> = {},
): FastifyReply {
  if (page.next !== undefined) {
    const params: Record<string, string | undefined> = {};
    for (const key of ["q", "kind"]) params[key] = queryValue(query, key);
    const n = queryValue(query, "n");
    if (n) params.n = n;
    params.last = page.next;
    let link = nextLink(path, params);
    // Repeated filters keep their order after the single-valued ones.
    const annotations = queryValues(query, "annotation");
    if (annotations.length > 0) {
      const more = annotations.map((a) => `annotation=${encodeURIComponent(a)}`).join("&");
      link = link.replace(/>; rel="next"$/, `&${more}>; rel="next"`);
    }
    reply.header("Link", link);
  }
  return sendJson(reply, { ...extra, [field]: page.items });
}
