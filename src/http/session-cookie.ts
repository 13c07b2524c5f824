import type { FastifyReply, FastifyRequest } from "fastify";

/** The web UI's session cookie (see src/auth/sessions.ts). */
export const SESSION_COOKIE = "wharf_session";
/**
 * Its name over TLS: browsers accept a `__Host-` cookie only when Secure, host-only and for Path=/, so a
 * sibling subdomain or a plain-HTTP page cannot plant one of their own (login CSRF by cookie tossing).
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
/** The header the UI echoes the session's CSRF value in, on every admin API call. */
export const CSRF_HEADER = "x-wharf-csrf";

const cookieName = (request: FastifyRequest) =>
  request.protocol === "https" ? SECURE_SESSION_COOKIE : SESSION_COOKIE;

/**
 * The session cookie's value, if the request carries exactly one: several (one planted beside ours, with
 * another path) name no session at all rather than whichever the browser sent first.
 */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const name = cookieName(request);
  let found: string | undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return undefined;
    found = pair.slice(eq + 1).trim();
  }
  return found;
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
    `${cookieName(request)}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure}`,
  );
}

/** Tells the browser to drop the cookie (signed out, or the session it names is gone). */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  setSessionCookie(request, reply, "", 0);
}
