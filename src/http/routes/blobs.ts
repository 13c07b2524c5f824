import type { ApiRoute, RouteContext } from "./types.js";
import { parseRange } from "../range.js";
import { sendFromReader } from "../send-blob.js";
import { RegistryError } from "../../oci/errors.js";
import { auditingImmutable } from "./immutable-refusal.js";
import { applyTrustDecision } from "./trust-refusal.js";

async function getBlob(ctx: RouteContext, withBody: boolean): Promise<unknown> {
  const { reply, registry, name, reference } = ctx;
  const info = await registry.blobs.stat(name, reference);
  // HEAD stays open (pushers check what is there); a manifest served as a blob is decided as one.
  if (withBody) {
    const decision = info.manifest
      ? await registry.enforcement.manifest(
          name,
          info.digest,
          info.manifest.content,
          info.manifest.mediaType,
          null,
        )
      : await registry.enforcement.blob(name, info.digest);
    await applyTrustDecision(ctx, decision);
  }
  const etag = `"${info.digest}"`;
  reply
    .header("Docker-Content-Digest", info.digest)
    .header("ETag", etag)
    .header("Accept-Ranges", "bytes")
    .header("Cache-Control", "max-age=31536000")
    .type("application/octet-stream");
  if (ctx.request.headers["if-none-match"] === etag) return reply.code(304).send();
  // The client fetches the bytes (any range) from the store; the URL expires, so the answer is not cached.
  const location = withBody ? await registry.blobs.redirect(info) : undefined;
  if (location) {
    return reply.code(307).header("Location", location).header("Cache-Control", "no-store").send();
  }

  const range = parseRange(ctx.request.headers.range, info.size);
  if (range.kind === "unsatisfiable") {
    reply.header("Content-Range", `bytes */${info.size}`);
    throw new RegistryError("RANGE_INVALID", "requested range not satisfiable", { size: info.size });
  }
  const served = range.kind === "range" ? range.range : { start: 0, end: info.size - 1 };
  const length = info.size === 0 ? 0 : served.end - served.start + 1;
  reply.header("Content-Length", length);
  if (range.kind === "range")
    reply.code(206).header("Content-Range", `bytes ${served.start}-${served.end}/${info.size}`);
  if (!withBody) return reply.send();
  if (info.manifest) return reply.send(info.manifest.content.subarray(served.start, served.end + 1));
  if (length === 0) return reply.send();
  const content = await registry.blobs.content(info, range.kind === "range" ? range.range : undefined);
  if ("stream" in content) return reply.send(content.stream);
  return sendFromReader(reply, content.reader, served);
}

export const blobRoutes: ApiRoute = {
  pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
  methods: {
    GET: (ctx) => getBlob(ctx, true),
    HEAD: (ctx) => getBlob(ctx, false),
    DELETE: async (ctx) => {
      const { reply, registry, name, reference, audit } = ctx;
      await auditingImmutable(ctx, "blob.delete", () => registry.blobs.delete(name, reference));
      await audit({ action: "blob.delete", repository: name, target: reference });
      return reply.code(202).header("Content-Length", 0).send();
    },
  },
  requires: { GET: "pull", HEAD: "pull", DELETE: "delete" },
};
