import type { FastifyReply } from "fastify";

/**
 * Sends `value` as JSON under exactly `mediaType`. Fastify appends `; charset=utf-8` to any JSON type when
 * it serializes an object or string itself, but the registry API's types are exact (JSON is UTF-8 by
 * definition and these types define no charset): clients such as the OCI conformance suite compare the
 * whole header. A Buffer is sent with the type as set, so serializing here is the one place that decides.
 */
export function sendJson(reply: FastifyReply, value: unknown, mediaType = "application/json"): FastifyReply {
  const body = Buffer.from(JSON.stringify(value));
  return reply.type(mediaType).header("Content-Length", body.length).send(body);
}
