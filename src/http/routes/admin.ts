import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { RegistryError } from "../../oci/errors.js";
import { requirePassword } from "../../auth/accounts.js";
import { AccountError, LoginError } from "../../auth/errors.js";
import { adminCaller, requireAdmin, type Account } from "../admin-access.js";
import { sendJson } from "../json.js";
import { refuseLogin } from "../refusals.js";
import { readLimitedBody } from "../request-body.js";
import type { Services } from "../server.js";
import { ImmutableRuleError } from "../../registry/immutable/rules.js";
import { TrustError } from "../../registry/trust/index.js";
import { startStorageVerification, storageVerificationStatus } from "./storage.js";
import { registerGcRoutes } from "./lifecycle/gc.js";
import { registerRetentionRoutes } from "./lifecycle/retention.js";
import { registerQuotaRoutes } from "./lifecycle/quotas.js";

const MAX_JSON_BYTES = 64 * 1024;
const MAX_AUDIT_PAGE = 1000;

/** Returns the JSON object to answer with (setting the status on `reply` if not 200), or the sent reply. */
export type Handler = (call: AdminCall) => Promise<unknown>;

/** Registers one admin route: `url` is below /api/v1; `adminOnly` routes need an administrator. */
export type AdminRoute = (
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  adminOnly: boolean,
  handler: Handler,
) => void;

export interface AdminCall {
  request: FastifyRequest;
  reply: FastifyReply;
  caller: Account;
  params: Record<string, string>;
  /** Records an audit event with the caller as actor. */
  audit(action: string, target: string, detail?: Record<string, unknown>): Promise<void>;
}

/**
 * The JSON admin API under /api/v1/ (for the CLI and the web UI): users, robot tokens, access rules,
 * immutable-tag rules, trusted keys and trust policies, and the audit log. Every route but `whoami` and a user's own password change needs an administrator.
 */
export function registerAdminRoutes(app: FastifyInstance, services: Services): void {
  const { accounts, audit } = services;

  const route: AdminRoute = (method, url, adminOnly, handler) =>
    void app.route({
      method,
      url: `/api/v1${url}`,
      handler: async (request, reply) => {
        const caller = await adminCaller(services, request, reply, { anyToken: url === "/whoami" });
        if (adminOnly) await requireAdmin(services, request, caller);
        const params = request.params as Record<string, string>;
        let result: unknown;
        try {
          result = await handler({
            request,
            reply,
            caller,
            params,
            audit: (action, target, detail) =>
              audit.record({ actor: caller.name, client: request.ip, action, target, detail }),
          });
        } catch (err) {
          throw err instanceof AccountError || err instanceof ImmutableRuleError || err instanceof TrustError
            ? accountError(err)
            : err;
        }
        // Handlers return the object to answer with; sendJson keeps its type exact (no charset).
        return reply.sent || result === reply ? reply : sendJson(reply, result);
      },
    });

  route("GET", "/whoami", false, async ({ caller }) => ({
    name: caller.name,
    kind: caller.kind,
    admin: caller.kind === "user" && caller.admin,
  }));

  route("POST", "/storage/verify", true, startStorageVerification(services));
  route("GET", "/storage/verify", true, storageVerificationStatus(services));

  route("GET", "/users", true, async () => ({ users: await accounts.users() }));
  route("POST", "/users", true, async ({ request, reply, audit: log }) => {
    const body = await jsonBody(request);
    const user = await accounts.addUser(
      requireString(body, "name"),
      requireString(body, "password"),
      body.admin === true,
    );
    await log("user.add", user.name, { admin: user.admin });
    reply.code(201);
    return user;
  });
  route("DELETE", "/users/:name", true, async ({ reply, params, audit: log }) => {
    const name = params.name ?? "";
    // One conditional delete: two administrators removing each other cannot both succeed.
    await accounts.removeUser(name);
    await log("user.remove", name);
    return reply.code(204).send();
  });
  // Administrators set anyone's password; a user may change their own, giving the current one (a
  // stolen session or token alone must not be enough to take the account over).
  route("PUT", "/users/:name/password", false, async ({ request, reply, caller, params, audit: log }) => {
    const name = params.name ?? "";
    const own = caller.kind === "user" && caller.name === name;
    if (!own) await requireAdmin(services, request, caller);
    const body = await jsonBody(request);
    const password = requireString(body, "password");
    requirePassword(password);
    if (own) {
      const current = body.currentPassword;
      if (typeof current !== "string" || current === "") {
        throw new RegistryError("INVALID_REQUEST", "currentPassword is required to change your own password");
      }
      await checkCurrentPassword(services, request, reply, name, current);
    }
    await accounts.setPassword(name, password);
    await log("user.password", name);
    return reply.code(204).send();
  });

  route("GET", "/tokens", true, async () => ({ tokens: await accounts.robots() }));
  route("POST", "/tokens", true, async ({ request, reply, caller, audit: log }) => {
    const body = await jsonBody(request);
    const expiresAt = body.expiresAt;
    if (expiresAt !== null && (typeof expiresAt !== "string" || Number.isNaN(Date.parse(expiresAt)))) {
      throw new RegistryError(
        "INVALID_REQUEST",
        "expiresAt must be an ISO-8601 time, or null for a token that never expires",
      );
    }
    const created = await accounts.createRobot(
      {
        name: requireString(body, "name"),
        repositories: requireStrings(body, "repositories"),
        actions: requireStrings(body, "actions"),
        expiresAt: expiresAt === null ? null : new Date(expiresAt).toISOString(),
      },
      caller.name,
    );
    const { robot } = created;
    await log("token.create", robot.name, {
      repositories: robot.repositories,
      actions: robot.actions,
      expiresAt: robot.expiresAt,
    });
    reply.code(201);
    return { ...robot, secret: created.secret };
  });
  route("DELETE", "/tokens/:name", true, async ({ reply, params, audit: log }) => {
    await accounts.revokeRobot(params.name ?? "");
    await log("token.revoke", params.name ?? "");
    return reply.code(204).send();
  });

  route("GET", "/access", true, async () => ({ rules: await accounts.rules() }));
  route("POST", "/access", true, async ({ request, reply, caller, audit: log }) => {
    const body = await jsonBody(request);
    const rule = await accounts.addRule(
      requireString(body, "subject"),
      requireString(body, "pattern"),
      requireStrings(body, "actions"),
      caller.name,
    );
    await log("access.add", rule.id, { subject: rule.subject, pattern: rule.pattern, actions: rule.actions });
    reply.code(201);
    return rule;
  });
  route("DELETE", "/access/:id", true, async ({ reply, params, audit: log }) => {
    const rule = (await accounts.rules()).find((r) => r.id === params.id);
    await accounts.removeRule(params.id ?? "");
    await log("access.remove", params.id ?? "", rule ? { subject: rule.subject, pattern: rule.pattern } : {});
    return reply.code(204).send();
  });

  const { immutable } = services.registry;
  route("GET", "/immutable", true, async () => ({ rules: await immutable.list() }));
  route("POST", "/immutable", true, async ({ request, reply, caller, audit: log }) => {
    const body = await jsonBody(request);
    const kind = body.kind;
    if (kind !== undefined && typeof kind !== "string") {
      throw new RegistryError("INVALID_REQUEST", "kind must be glob, regex or semver");
    }
    const rule = await immutable.add(
      {
        name: requireString(body, "name"),
        repositories: requireString(body, "repositories"),
        tags: requireString(body, "tags"),
        ...(kind === undefined ? {} : { kind }),
      },
      caller.name,
    );
    await log("immutable.add", rule.name, {
      repositories: rule.repositories,
      tags: rule.tags,
      kind: rule.kind,
    });
    reply.code(201);
    return rule;
  });
  route("DELETE", "/immutable/:name", true, async ({ reply, params, audit: log }) => {
    const rule = await immutable.remove(params.name ?? "");
    await log("immutable.remove", rule.name, {
      repositories: rule.repositories,
      tags: rule.tags,
      kind: rule.kind,
    });
    return reply.code(204).send();
  });

  const { trust } = services.registry;
  route("GET", "/trust/keys", true, async () => ({ keys: await trust.listKeys() }));
  route("POST", "/trust/keys", true, async ({ request, reply, caller, audit: log }) => {
    const body = await jsonBody(request);
    const key = await trust.addKey(
      requireString(body, "name"),
      requireString(body, "publicKey"),
      caller.name,
    );
    await log("trust.key.add", key.name, { fingerprint: key.fingerprint });
    reply.code(201);
    return key;
  });
  route("DELETE", "/trust/keys/:name", true, async ({ reply, params, audit: log }) => {
    const key = await trust.removeKey(params.name ?? "");
    const naming = (await trust.listPolicies()).filter((p) => p.keys.includes(key.name)).map((p) => p.name);
    await log("trust.key.remove", key.name, { fingerprint: key.fingerprint, policies: naming });
    return reply.code(204).send();
  });
  route("GET", "/trust/policies", true, async () => ({ policies: await trust.listPolicies() }));
  route("POST", "/trust/policies", true, async ({ request, reply, caller, audit: log }) => {
    const body = await jsonBody(request);
    const keys = requireStrings(body, "keys");
    const policy = await trust.addPolicy(
      {
        name: requireString(body, "name"),
        repositories: requireString(body, "repositories"),
        keys,
        mode: requireString(body, "mode"),
      },
      caller.name,
    );
    await log("trust.policy.add", policy.name, {
      repositories: policy.repositories,
      keys: policy.keys,
      mode: policy.mode,
    });
    reply.code(201);
    return policy;
  });
  route("DELETE", "/trust/policies/:name", true, async ({ reply, params, audit: log }) => {
    const policy = await trust.removePolicy(params.name ?? "");
    await log("trust.policy.remove", policy.name, {
      repositories: policy.repositories,
      keys: policy.keys,
      mode: policy.mode,
    });
    return reply.code(204).send();
  });

  route("GET", "/audit", true, async ({ request }) => {
    const query = request.query as Record<string, string | undefined>;
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_PAGE) {
      throw new RegistryError("INVALID_REQUEST", `limit must be an integer from 1 to ${MAX_AUDIT_PAGE}`);
    }
    const before = query.before === undefined ? undefined : Number(query.before);
    if (before !== undefined && !Number.isInteger(before)) {
      throw new RegistryError("INVALID_REQUEST", "before must be an event sequence number");
    }
    let since: string | undefined;
    if (query.since !== undefined) {
      const time = Date.parse(query.since);
      if (Number.isNaN(time)) throw new RegistryError("INVALID_REQUEST", "since must be an ISO-8601 time");
      since = new Date(time).toISOString();
    }
    const events = await audit.query({
      actor: query.actor || undefined,
      action: query.action || undefined,
      repository: query.repository || undefined,
      since,
      before,
      limit,
    });
    return { events };
  });

  registerGcRoutes(route, services);
  registerRetentionRoutes(route, services);
  registerQuotaRoutes(route, services);
}

/** The current password, checked like any login (so it counts towards the lockout). */
async function checkCurrentPassword(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  current: string,
): Promise<void> {
  try {
    await services.authenticator.login(name, current, request.ip);
  } catch (err) {
    if (!(err instanceof LoginError)) throw err;
    const attempt = { name, client: request.ip, via: "password change" };
    throw await refuseLogin(
      services.audit,
      reply,
      err,
      attempt,
      () => new RegistryError("DENIED", "the current password is not correct"),
    );
  }
}

function accountError(err: AccountError | ImmutableRuleError | TrustError): RegistryError {
  const code =
    err.kind === "invalid" ? "INVALID_REQUEST" : err.kind === "not_found" ? "NOT_FOUND" : "CONFLICT";
  return new RegistryError(code, err.message);
}

export async function jsonBody(request: FastifyRequest): Promise<Record<string, unknown>> {
  const text = (await readLimitedBody(request.raw, MAX_JSON_BYTES)).toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RegistryError("INVALID_REQUEST", "the body must be a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RegistryError("INVALID_REQUEST", "the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

export function requireString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") {
    throw new RegistryError("INVALID_REQUEST", `${key} must be a non-empty string`);
  }
  return value;
}

export function requireStrings(body: Record<string, unknown>, key: string): string[] {
  const value = body[key];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new RegistryError("INVALID_REQUEST", `${key} must be an array of strings`);
  }
  return value as string[];
}
