import type { FastifyReply, FastifyRequest } from "fastify";

/** The web UI's session cookie (see src/auth/sessions.ts). */
export const SESSION_COOKIE = "wharf_session";
/** The header the UI echoes the session's CSRF value in, on every admin API call. */
export const CSRF_HEADER = "x-wharf-csrf";

/** The session cookie's value, if the request carries one (the first, should there be several). */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq !== -1 && pair.slice(0, eq).trim() === SESSION_COOKIE) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * HttpOnly (no script reads it), SameSite=Strict (no other site's page makes the browser send it),
 * Secure when the request came over TLS (directly, or through a trusted proxy that says so).
 */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  value: string,
  maxAgeSeconds: number,
): void {
  const secure = request.protocol === "https" ? "; Secure" : "";
  reply.header(
    "Set-Cookie",
    `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`,
  );
}

/** Tells the browser to drop the cookie (signed out, or the session it names is gone). */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  setSessionCookie(request, reply, "", 0);
}
