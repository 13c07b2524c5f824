import type { FastifyReply } from "fastify";
import type { ApiRoute, RouteContext } from "./types.js";
import { queryValue } from "./types.js";
import { contentLength, hasBody } from "../request-body.js";
import { receiveBody } from "../received-body.js";
import { parseContentRange } from "../range.js";
import { RegistryError } from "../../oci/errors.js";
import type { ChunkOptions } from "../../registry/uploads.js";

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

/** The spec's `Range: 0-<last byte>` for an upload holding `size` bytes. */
function uploadRange(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function replyUploadState(reply: FastifyReply, name: string, id: string, size: number, status: number) {
  return reply
    .code(status)
    .header("Location", uploadLocation(name, id))
    .header("Range", uploadRange(size))
    .header("Docker-Upload-UUID", id)
    .header("Content-Length", 0)
    .send();
}

function replyBlobCreated(reply: FastifyReply, name: string, digest: string) {
  return reply
    .code(201)
    .header("Location", `/v2/${name}/blobs/${digest}`)
    .header("Docker-Content-Digest", digest)
    .header("Content-Length", 0)
    .send();
}

function chunkOptions(ctx: RouteContext): ChunkOptions {
  const range = parseContentRange(ctx.request.headers["content-range"]);
  if (range === null) throw new RegistryError("BLOB_UPLOAD_INVALID", "malformed Content-Range header");
  return { rangeStart: range?.start, rangeEnd: range?.end, contentLength: contentLength(ctx.request.raw) };
}

async function startUpload(ctx: RouteContext): Promise<unknown> {
  const { reply, registry, name, query } = ctx;
  const mount = queryValue(query, "mount");
  const from = queryValue(query, "from");
  // Without pull on the source, or when its trust policies refuse the blob there, a mount is an ordinary
  // upload: the caller learns nothing about it, and an unsigned artifact's blob is not carried off.
  if (mount !== undefined && from !== undefined && (await mayMount(ctx, from, mount))) {
    const result = await registry.uploads.mount(name, mount, from);
    if (result.mounted) return replyBlobCreated(reply, name, result.digest);
    return replyUploadState(reply, name, result.id, 0, 202);
  }
  const digest = queryValue(query, "digest");
  if (digest === undefined) {
    const id = await registry.uploads.start(name);
    return replyUploadState(reply, name, id, 0, 202);
  }
  const body = hasBody(ctx.request.raw) ? receiveBody(ctx.request.raw) : undefined;
  const blob = await registry.uploads.upload(name, digest, body, chunkOptions(ctx));
  return replyBlobCreated(reply, name, blob.digest);
}

async function mayMount(ctx: RouteContext, from: string, digest: string): Promise<boolean> {
  if (!(await ctx.access.mayPull(from))) return false;
  const decision = await ctx.registry.enforcement.blob(from, digest);
  return !decision || decision.refused.length === 0;
}

export const uploadStartRoute: ApiRoute = {
  pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
  methods: { POST: startUpload },
  requires: { POST: "push" },
};

export const uploadRoutes: ApiRoute = {
  pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
  methods: {
    GET: async ({ reply, registry, name, reference }) => {
      const size = await registry.uploads.status(name, reference);
      return replyUploadState(reply, name, reference, size, 204);
    },
    PATCH: async (ctx) => {
      const { reply, registry, name, reference } = ctx;
      const size = await registry.uploads.append(
        name,
        reference,
        receiveBody(ctx.request.raw),
        chunkOptions(ctx),
      );
      return replyUploadState(reply, name, reference, size, 202);
    },
    PUT: async (ctx) => {
      const { reply, registry, name, reference, query } = ctx;
      const digest = queryValue(query, "digest");
      if (digest === undefined)
        throw new RegistryError("DIGEST_INVALID", "the digest query parameter is required");
      const body = hasBody(ctx.request.raw) ? receiveBody(ctx.request.raw) : undefined;
      const blob = await registry.uploads.complete(name, reference, digest, body, chunkOptions(ctx));
      return replyBlobCreated(reply, name, blob.digest);
    },
    DELETE: async ({ reply, registry, name, reference }) => {
      await registry.uploads.cancel(name, reference);
      return reply.code(204).send();
    },
  },
  requires: { GET: "push", PATCH: "push", PUT: "push", DELETE: "push" },
};
