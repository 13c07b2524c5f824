import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { RegistryError, type ErrorCode } from "../oci/errors.js";
import { StorageFullError } from "../storage/blob-store.js";
import { sendJson } from "./json.js";
import { QuotaExceededError } from "../registry/quotas/service.js";
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
    // Clients on containerd's resolver print only the status line: it carries the quota's message too
    // (ASCII: quota names and globs are validated).
    if (error instanceof QuotaExceededError) reply.raw.statusMessage = `Forbidden: ${error.message}`;
    void sendJson(reply.code(error.status), errorBody(error.code, error.message, error.detail));
    return;
  }
  // Anything that ran out of space (a manifest, a tag, an account change): nothing half-done was kept.
  if (error instanceof StorageFullError) {
    noteErrorCode(request, "UNKNOWN");
    log.error({ err: error, ...where }, "storage is full");
    void sendJson(
      reply.code(507),
      errorBody(
        "UNKNOWN",
        "storage is full: the registry has no space left; try again once space has been freed",
      ),
    );
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
