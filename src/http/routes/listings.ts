import { createHash } from "node:crypto";
import type { ApiRoute } from "./types.js";
import { nextLink, queryValue } from "./types.js";
import { pageRequest } from "../../registry/pagination.js";
import { MediaType } from "../../oci/media-types.js";
import { sendJson } from "../json.js";

export const pingRoute: ApiRoute = {
  pattern: /^\/v2\/?$/,
  methods: {
    GET: async ({ reply }) => sendJson(reply, {}),
    HEAD: async ({ reply }) => reply.type("application/json").header("Content-Length", 2).send(),
  },
  requires: { GET: "login", HEAD: "login" },
};

export const catalogRoute: ApiRoute = {
  pattern: /^\/v2\/_catalog$/,
  methods: {
    GET: async ({ reply, registry, query, access }) => {
      const request = pageRequest(queryValue(query, "n"), queryValue(query, "last"));
      const page = await registry.listings.catalog(
        request,
        access.restricted ? (name) => access.mayList(name) : undefined,
      );
      if (page.next)
        reply.header("Link", nextLink("/v2/_catalog", { n: String(request.limit), last: page.next }));
      return sendJson(reply, { repositories: page.items });
    },
  },
  requires: { GET: "catalog" },
};

export const tagsRoute: ApiRoute = {
  pattern: /^\/v2\/(.+)\/tags\/list$/,
  methods: {
    GET: async ({ request: http, reply, registry, name, query }) => {
      const request = pageRequest(queryValue(query, "n"), queryValue(query, "last"));
      const page = await registry.listings.tags(name, request);
      if (page.next) {
        reply.header(
          "Link",
          nextLink(`/v2/${name}/tags/list`, { n: String(request.limit), last: page.next }),
        );
      }
      // Every page's ETag covers every tag of the repository, not only those on the page (the
      // repository's tags version, bumped with each tag change), so a poller (wharf watch) asks "anything
      // new?" of a one-tag page and gets a 304 while nothing changed anywhere. The request's position
      // and the page's names identify the page (tags hold no newline).
      const hash = createHash("sha256").update(
        [name, page.version, String(request.limit), request.last ?? "", ...page.items].join("\n"),
      );
      const etag = `"${hash.digest("hex").slice(0, 32)}"`;
      reply.header("ETag", etag);
      if (http.headers["if-none-match"] === etag) return reply.code(304).send();
      return sendJson(reply, { name, tags: page.items });
    },
  },
  requires: { GET: "pull" },
};

export const referrersRoute: ApiRoute = {
  pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/,
  methods: {
    GET: async ({ reply, registry, name, reference, query }) => {
      const artifactType = queryValue(query, "artifactType") || undefined;
      const request = pageRequest(queryValue(query, "n"), queryValue(query, "last"));
      const page = await registry.listings.referrers(name, reference, artifactType, request);
      if (artifactType) reply.header("OCI-Filters-Applied", "artifactType");
      if (page.next) {
        reply.header(
          "Link",
          nextLink(`/v2/${name}/referrers/${reference}`, {
            artifactType,
            n: String(request.limit),
            last: page.next,
          }),
        );
      }
      return sendJson(
        reply,
        { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: page.items },
        MediaType.OciIndex,
      );
    },
  },
  requires: { GET: "pull" },
};
