import type { ApiRoute, RouteContext } from "./types.js";
import { queryValues } from "./types.js";
import { readLimitedBody } from "../request-body.js";
import { MAX_MANIFEST_BYTES } from "../../oci/manifest.js";
import { isDigestReference } from "../../registry/validation.js";
import { auditingImmutable } from "./immutable-refusal.js";
import { applyTrustDecision } from "./trust-refusal.js";
import { signatureAuditEvent } from "../../registry/trust/signatures.js";

async function getManifest(ctx: RouteContext, withBody: boolean): Promise<unknown> {
  const { reply, registry, name, reference } = ctx;
  const manifest = await registry.manifests.get(name, reference);
  // HEAD stays open: clients resolve digests to fetch and check signatures.
  if (withBody) {
    const tag = isDigestReference(reference) ? null : reference;
    await applyTrustDecision(
      ctx,
      await registry.enforcement.manifest(name, manifest.digest, manifest.content, manifest.mediaType, tag),
    );
    // A pull served (counted in memory, written in batches): a tag counts the manifest it names.
    registry.pulls.record(name, manifest.digest);
  }
  const etag = `"${manifest.digest}"`;
  reply
    .header("Docker-Content-Digest", manifest.digest)
    .header("ETag", etag)
    .header("Content-Length", manifest.size)
    .type(manifest.mediaType);
  if (ctx.request.headers["if-none-match"] === etag) return reply.code(304).send();
  return reply.send(withBody ? manifest.content : undefined);
}

export const manifestRoutes: ApiRoute = {
  pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
  methods: {
    GET: (ctx) => getManifest(ctx, true),
    HEAD: (ctx) => getManifest(ctx, false),
    PUT: async (ctx) => {
      const { request, reply, registry, name, reference } = ctx;
      const body = await readLimitedBody(request.raw, MAX_MANIFEST_BYTES);
      const tags = queryValues(ctx.query, "tag");
      const result = await auditingImmutable(ctx, "manifest.push", () =>
        registry.manifests.put(name, reference, request.headers["content-type"], body, tags),
      );
      if (result.subject) reply.header("OCI-Subject", result.subject);
      await ctx.audit({
        action: "manifest.push",
        repository: name,
        target: result.digest,
        detail: { reference, tags: isDigestReference(reference) ? tags : [reference, ...tags] },
      });
      if (result.signatures) await ctx.audit(signatureAuditEvent(name, result.digest, result.signatures));
      return reply
        .code(201)
        .header("Location", `/v2/${name}/manifests/${result.digest}`)
        .header("Docker-Content-Digest", result.digest)
        .header("Content-Length", 0)
        .send();
    },
    DELETE: async (ctx) => {
      const { reply, registry, name, reference, audit } = ctx;
      const action = isDigestReference(reference) ? "manifest.delete" : "tag.delete";
      await auditingImmutable(ctx, action, () => registry.manifests.delete(name, reference));
      await audit({ action, repository: name, target: reference });
      return reply.code(202).header("Content-Length", 0).send();
    },
  },
  requires: { GET: "pull", HEAD: "pull", PUT: "push", DELETE: "delete" },
};
