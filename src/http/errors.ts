import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { RegistryError, type ErrorCode } from "../oci/errors.js";
import { sendJson } from "./json.js";
import { noteErrorCode, safeUrl } from "./request-log.js";

interface ErrorBody {
  errors: { code: ErrorCode | "UNKNOWN"; message: string; detail?: unknown }[];
}

export function errorBody(code: ErrorCode | "UNKNOWN", message: string, detail?: unknown): ErrorBody {
  return { errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] };
}

/** Every failure leaves as the spec's JSON error; unexpected ones are logged and reported as 500 UNKNOWN. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply, log: Logger): void {
  const where = { reqId: request.id, url: safeUrl(request.url) };
  if (error instanceof RegistryError) {
    noteErrorCode(request, error.code);
    if (error.status >= 500) log.error({ err: error, ...where }, "registry error");
    void sendJson(reply.code(error.status), errorBody(error.code, error.message, error.detail));
    return;
  }
  // Framework errors (malformed requests) carry a 4xx statusCode of their own.
  const status = (error as Partial<FastifyError> | undefined)?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const message = (error as FastifyError).message;
    noteErrorCode(request, "UNSUPPORTED");
    void sendJson(reply.code(status), errorBody("UNSUPPORTED", message));
    return;
  }
  noteErrorCode(request, "UNKNOWN");
  log.error({ err: error, ...where }, "request failed");
  void sendJson(reply.code(500), errorBody("UNKNOWN", "internal server error"));
}
