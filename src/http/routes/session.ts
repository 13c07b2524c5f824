import type { FastifyInstance, FastifyRequest } from "fastify";
import { RegistryError } from "../../oci/errors.js";
import { LoginError } from "../../auth/errors.js";
import type { Identity } from "../../auth/identity.js";
import { csrfMatches, type UiSession } from "../../auth/sessions.js";
import { rejectCrossSite, requireJsonBody } from "../admin-access.js";
import { sendJson } from "../json.js";
import { recordRefusal, refuseLogin } from "../refusals.js";
import { readLimitedBody } from "../request-body.js";
import { noteIdentity } from "../request-log.js";
import { clearSessionCookie, CSRF_HEADER, sessionCookie, setSessionCookie } from "../session-cookie.js";
import type { Services } from "../server.js";

/** A name and a password (at most 1024 characters, see requirePassword) fit in far less. */
const MAX_SIGN_IN_BYTES = 4096;
const URL = "/api/v1/session";

/**
 * Web UI sign-in: the login of the token service (its limits, lockouts and audit records) turned into
 * a server-side session named by an HttpOnly cookie, so no script ever holds a credential. Same-origin
 * JSON only, like the admin API; a wrong password answers 401 without a `Basic` challenge (a browser
 * would open its own prompt).
 */
export function registerSessionRoutes(app: FastifyInstance, services: Services): void {
  const { authenticator, sessions, audit, guard } = services;

  const guarded = (request: FastifyRequest) => {
    rejectCrossSite(request, guard.realm(request));
    requireJsonBody(request);
  };

  app.post(URL, async (request, reply) => {
    guarded(request);
    if (!(await authenticator.isEnabled())) {
      throw new RegistryError(
        "DENIED",
        "authentication is not enabled on this registry: there is nothing to sign in to",
      );
    }
    const { username, password } = await credentials(request);
    const client = request.ip;
    let identity: Identity;
    try {
      identity = await authenticator.login(username, password, client);
    } catch (err) {
      if (!(err instanceof LoginError)) throw err;
      const attempt = { name: username, client, via: "web-ui" };
      throw await refuseLogin(
        audit,
        reply,
        err,
        attempt,
        () => new RegistryError("UNAUTHORIZED", err.message),
      );
    }
    noteIdentity(request, identity);
    if (identity.kind !== "user") {
      await recordRefusal(audit, {
        actor: username,
        client,
        action: "ui.session",
        reason: "robot",
      });
      throw new RegistryError("DENIED", "robots use tokens, not the web UI");
    }
    await audit.recordLogin(identity.name, client, "ok", { via: "web-ui" });
    const session = await sessions.create(identity);
    setSessionCookie(request, reply, session.cookie, session.maxAgeSeconds);
    reply.header("Cache-Control", "no-store");
    return sendJson(reply.code(201), {
      user: userOf(session),
      csrf: session.csrf,
      expiresAt: session.expiresAt,
    });
  });

  app.get(URL, async (request, reply) => {
    guarded(request);
    const authEnabled = await authenticator.isEnabled();
    const cookie = sessionCookie(request);
    const session = authEnabled ? await sessions.resolve(cookie) : null;
    if (session) noteIdentity(request, session.identity);
    // A cookie that names no live session is dropped, so the browser stops sending it.
    else if (cookie !== undefined) clearSessionCookie(request, reply);
    reply.header("Cache-Control", "no-store");
    return sendJson(reply, {
      authEnabled,
      user: session ? userOf(session) : null,
      csrf: session?.csrf ?? null,
    });
  });

  app.delete(URL, async (request, reply) => {
    guarded(request);
    const cookie = sessionCookie(request);
    const session = await sessions.resolve(cookie);
    if (session) {
      noteIdentity(request, session.identity);
      // Else any page could sign the user out (SameSite already stops other sites; this stops the rest).
      if (!csrfMatches(session, request.headers[CSRF_HEADER])) {
        throw new RegistryError("DENIED", "missing or wrong X-Wharf-CSRF header");
      }
      await sessions.end(cookie);
    }
    if (cookie !== undefined) clearSessionCookie(request, reply);
    return reply.code(204).send();
  });
}

async function credentials(request: FastifyRequest): Promise<{ username: string; password: string }> {
  const text = (await readLimitedBody(request.raw, MAX_SIGN_IN_BYTES)).toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const { username, password } = (body ?? {}) as Record<string, unknown>;
  if (typeof username !== "string" || username === "" || typeof password !== "string" || password === "") {
    throw new RegistryError(
      "INVALID_REQUEST",
      'the body must be a JSON object {"username": "...", "password": "..."}',
    );
  }
  return { username, password };
}

function userOf(session: UiSession): { name: string; admin: boolean } {
  return { name: session.identity.name, admin: session.identity.admin };
}
