import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Identity } from "../auth/identity.js";

/** What the access log needs to know about a request beyond what Fastify keeps. */
interface RequestNotes {
  identity?: Identity;
  errorCode?: string;
}

const notes = new WeakMap<FastifyRequest, RequestNotes>();

/** Called where a caller is authenticated (registry API, admin API, token endpoint). */
export function noteIdentity(request: FastifyRequest, identity: Identity): void {
  notes.set(request, { ...notes.get(request), identity });
}

/** Called where an error becomes a response: the OCI error code goes into the access log line. */
export function noteErrorCode(request: FastifyRequest, code: string): void {
  notes.set(request, { ...notes.get(request), errorCode: code });
}

export const REQUEST_ID_HEADER = "x-request-id";
/** A proxy's request id is kept when it looks like one (no spaces, quotes or control characters). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function requestId(request: IncomingMessage): string {
  const incoming = request.headers[REQUEST_ID_HEADER];
  return typeof incoming === "string" && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** Query parameters whose values must never reach a log (tokens, passwords, signatures). */
const SECRET_PARAM = /token|password|passwd|secret|auth|key|signature|credential|code/i;

/** The URL as logged: secret-looking query values replaced, and bounded in length. */
export function safeUrl(url: string): string {
  const question = url.indexOf("?");
  let safe = url;
  if (question !== -1) {
    const params = new URLSearchParams(url.slice(question + 1));
    for (const key of new Set(params.keys())) {
      if (SECRET_PARAM.test(key)) params.set(key, "[redacted]");
    }
    safe = `${url.slice(0, question)}?${params.toString()}`;
  }
  return safe.length > 2048 ? `${safe.slice(0, 2048)}...` : safe;
}

/**
 * Bytes on the connection for one request, headers included: the socket's counters at the end of the
 * previous response on it are the baseline (keep-alive connections carry many requests).
 */
const socketBaseline = new WeakMap<Socket, { read: number; written: number }>();

function wireBytes(socket: Socket | null): { bytesIn: number; bytesOut: number } {
  if (!socket) return { bytesIn: 0, bytesOut: 0 };
  const base = socketBaseline.get(socket) ?? { read: 0, written: 0 };
  const now = { read: socket.bytesRead, written: socket.bytesWritten };
  socketBaseline.set(socket, now);
  return { bytesIn: now.read - base.read, bytesOut: now.written - base.written };
}

function identityFields(identity: Identity | undefined): { identity: string; identityKind: string } {
  if (!identity || identity.kind === "anonymous") return { identity: "anonymous", identityKind: "anonymous" };
  return { identity: identity.name, identityKind: identity.kind };
}

/** One line per response: who, what, how it ended, how much moved. More detail at debug. */
export function logAccess(log: Logger, request: FastifyRequest, reply: FastifyReply): void {
  const noted = notes.get(request);
  const line: Record<string, unknown> = {
    reqId: request.id,
    client: request.ip,
    ...identityFields(noted?.identity),
    method: request.method,
    url: safeUrl(request.url),
    status: reply.statusCode,
    ...(noted?.errorCode ? { error: noted.errorCode } : {}),
    ...wireBytes(request.raw.socket as Socket | null),
    ms: Math.round(reply.elapsedTime),
    userAgent: request.headers["user-agent"] ?? null,
  };
  if (log.isLevelEnabled("debug")) {
    // Upload session ids travel in Location; ranges and digests explain most upload failures.
    const headers = reply.getHeaders();
    line.requestHeaders = pick(request.headers, ["content-type", "content-length", "content-range", "range"]);
    line.responseHeaders = pick(headers, ["location", "content-range", "docker-content-digest", "range"]);
  }
  log.info(line, "request");
}

function pick(from: Record<string, unknown>, names: string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names) {
    const value = from[name];
    if (value !== undefined) picked[name] = name === "location" ? safeUrl(String(value)) : value;
  }
  return picked;
}
