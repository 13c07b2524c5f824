import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { RegistryError, type ErrorCode } from "../oci/errors.js";
import { sendJson } from "./json.js";

interface ErrorBody {
  errors: { code: ErrorCode | "UNKNOWN"; message: string; detail?: unknown }[];
}

export function errorBody(code: ErrorCode | "UNKNOWN", message: string, detail?: unknown): ErrorBody {
  return { errors: [{ code, message, ...(detail === undefined ? {} : { detail }) }] };
}

/** Every failure leaves as the spec's JSON error; unexpected ones are logged and reported as 500 UNKNOWN. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply, log: Logger): void {
  if (error instanceof RegistryError) {
    if (error.status >= 500) log.error({ err: error, url: request.url }, "registry error");
    void sendJson(reply.code(error.status), errorBody(error.code, error.message, error.detail));
    return;
  }
  // Framework errors (malformed requests) carry a 4xx statusCode of their own.
  const status = (error as Partial<FastifyError> | undefined)?.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const message = (error as FastifyError).message;
    void sendJson(reply.code(status), errorBody("UNSUPPORTED", message));
    return;
  }
  log.error({ err: error, url: request.url }, "request failed");
  void sendJson(reply.code(500), errorBody("UNKNOWN", "internal server error"));
}
