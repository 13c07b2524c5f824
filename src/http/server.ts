import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "../registry/registry.js";
import { RegistryError } from "../oci/errors.js";
import { requireRepositoryName } from "../registry/validation.js";
import { errorBody, handleError } from "./errors.js";
import { sendJson } from "./json.js";
import type { ApiRoute, Method, RouteContext } from "./routes/types.js";
import { blobRoutes } from "./routes/blobs.js";
import { uploadRoutes, uploadStartRoute } from "./routes/uploads.js";
import { manifestRoutes } from "./routes/manifests.js";
import { catalogRoute, pingRoute, referrersRoute, tagsRoute } from "./routes/listings.js";
import { registerTokenRoutes } from "./routes/token.js";
import { registerAdminRoutes } from "./routes/admin.js";
import { registerDiscoveryRoutes } from "./routes/discovery.js";
import { registerSessionRoutes } from "./routes/session.js";
import type { AccessGuard, RequestAccess, Requirement } from "./access.js";
import type { AuditLog } from "../registry/audit.js";
import { recordRefusal } from "./refusals.js";
import type { TokenService } from "../auth/token-service.js";
import type { Accounts } from "../auth/accounts.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { SessionService } from "../auth/sessions.js";
import { closeIfBodyUnread } from "./connections.js";
import { setBodyDeadline } from "./request-body.js";
import { logAccess, noteErrorCode, requestId, safeUrl } from "./request-log.js";
import { isUiPath, loadUi } from "./routes/ui.js";

/** Everything the HTTP layer serves, built by the caller. */
export interface Services {
  registry: Registry;
  guard: AccessGuard;
  tokens: TokenService;
  audit: AuditLog;
  accounts: Accounts;
  authenticator: Authenticator;
  /** Web UI sign-ins (a cookie): honoured by the discovery and admin APIs only, never by /v2/. */
  sessions: SessionService;
}

export interface HttpOptions {
  /** A connection with no traffic for this long is closed (stalled clients). */
  idleTimeoutMs: number;
  /** A small body read whole (token form, admin JSON, manifest) must have arrived this long after the head. */
  bodyTimeoutMs: number;
  /**
   * Proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client: behind a load balancer the
   * client address (lockouts, audit, logs) is the one it forwarded. Nobody is trusted by default.
   */
  trustedProxies: string[];
  /** Serve the web UI (dist/ui) at `/`. */
  ui: boolean;
}

/** Order matters: upload paths must be tried before the blob path they would also match. */
const API_ROUTES: ApiRoute[] = [
  pingRoute,
  catalogRoute,
  uploadStartRoute,
  uploadRoutes,
  blobRoutes,
  manifestRoutes,
  tagsRoute,
  referrersRoute,
];

export function buildHttpServer(services: Services, log: Logger, options: HttpOptions): FastifyInstance {
  const app = Fastify({
    // Our own pino logs one line per response (below) instead of Fastify's two.
    logger: false,
    exposeHeadRoutes: false,
    connectionTimeout: options.idleTimeoutMs,
    // An idle keep-alive connection is as idle as any other.
    keepAliveTimeout: options.idleTimeoutMs,
    genReqId: requestId,
    // Uploads may take long; the idle timeout above is what catches stalled clients.
    requestTimeout: 0,
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: false },
    ...(options.trustedProxies.length > 0 ? { trustProxy: options.trustedProxies } : {}),
  });

  // Bodies are streamed by the handlers themselves: never buffered or parsed by the framework.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));

  app.addHook("onRequest", async (request, reply) => {
    reply.header("Docker-Distribution-API-Version", "registry/2.0");
    reply.header("X-Request-Id", request.id);
    setBodyDeadline(request.raw, options.bodyTimeoutMs);
  });
  app.addHook("onSend", async (request, reply) => closeIfBodyUnread(request, reply));
  app.addHook("onResponse", async (request, reply) => logAccess(log, request, reply));

  app.setErrorHandler((error, request, reply) => handleError(error, request, reply, log));
  const ui = options.ui ? loadUi() : undefined;
  app.setNotFoundHandler((request, reply) => {
    if (ui && isUiPath(request)) return ui.send(request, reply);
    noteErrorCode(request, "NAME_UNKNOWN");
    void sendJson(reply.code(404), errorBody("NAME_UNKNOWN", `no route for ${safeUrl(request.url)}`));
  });

  app.route({
    method: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    url: "/v2/*",
    handler: (request, reply) => dispatch(services, log, request, reply),
  });
  app.route({
    method: ["GET", "HEAD"],
    url: "/v2",
    handler: (request, reply) => dispatch(services, log, request, reply),
  });
  registerTokenRoutes(app, services.tokens, services.audit);
  registerSessionRoutes(app, services);
  registerAdminRoutes(app, services);
  registerDiscoveryRoutes(app, services);
  return app;
}

async function dispatch(
  services: Services,
  log: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const path = request.url.split("?", 1)[0] ?? "";
  for (const route of API_ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const method = request.method as Method;
    const handler = route.methods[method];
    const requirement = route.requires[method];
    if (!handler || !requirement) {
      reply.header("Allow", Object.keys(route.methods).join(", "));
      throw new RegistryError("UNSUPPORTED", `method ${request.method} not allowed on ${path}`);
    }
    const name = match[1] ?? "";
    // Before any permission check: a hostile name must never reach the rule matcher.
    if (match[1] !== undefined) requireRepositoryName(name);
    const access = await checkAccess(services, log, request, reply, requirement, name);
    const context: RouteContext = {
      request,
      reply,
      registry: services.registry,
      name,
      reference: match[2] ?? "",
      query: request.query as RouteContext["query"],
      access,
      audit: (event) => services.audit.record({ ...event, actor: access.actor, client: access.client }),
      refused: (refusal) =>
        recordRefusal(services.audit, { ...refusal, actor: access.actor, client: access.client }),
      auditRepeated: (event) =>
        services.audit.recordRepeated({ ...event, actor: access.actor, client: access.client }),
    };
    return handler(context);
  }
  throw new RegistryError("NAME_UNKNOWN", `no route for ${path}`, undefined, 404);
}

/** The guard's decision, explained in the debug log (the access line carries only the outcome). */
async function checkAccess(
  services: Services,
  log: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
  requirement: Requirement,
  repository: string,
): Promise<RequestAccess> {
  try {
    const access = await services.guard.check(request, reply, requirement, repository);
    log.debug({ reqId: request.id, actor: access.actor, requirement, repository }, "access granted");
    return access;
  } catch (err) {
    if (err instanceof RegistryError) {
      log.debug(
        { reqId: request.id, requirement, repository, code: err.code, reason: err.message },
        "access refused",
      );
    }
    throw err;
  }
}
