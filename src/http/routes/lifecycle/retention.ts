import type { FastifyRequest } from "fastify";
import { RegistryError } from "../../../oci/errors.js";
import { auditDetail, MAX_PLAN_ENTRIES, type PlannedRemoval } from "../../../registry/retention/service.js";
import type { Services } from "../../server.js";
import { jsonBody, requireString, type AdminRoute } from "../admin.js";

/**
 * Retention policies (administrators only): GET/POST /api/v1/retention, DELETE /api/v1/retention/:name,
 * POST /api/v1/retention/preview ({name} or {policy}; changes nothing) and POST /api/v1/retention/apply
 * ({name}, {plan}: runs now and answers what it removed). Changes and applies are audited.
 */
export function registerRetentionRoutes(route: AdminRoute, services: Services): void {
  const { retention } = services.registry;

  route("GET", "/retention", true, async () => ({ policies: await retention.list() }));

  route("POST", "/retention", true, async ({ request, reply, caller, audit }) => {
    const body = await jsonBody(request);
    const policy = await retention.add(
      { name: body.name, repositories: body.repositories, rules: body.rules },
      caller.name,
    );
    await audit("retention.add", policy.name, { repositories: policy.repositories, rules: policy.rules });
    reply.code(201);
    return policy;
  });

  route("DELETE", "/retention/:name", true, async ({ reply, params, audit }) => {
    const removed = await retention.remove(params.name ?? "");
    await audit("retention.remove", removed.name, {
      repositories: removed.repositories,
      rules: removed.rules,
    });
    return reply.code(204).send();
  });

  route("POST", "/retention/preview", true, async ({ request }) => {
    const body = await optionalBody(request);
    const name = optionalName(body);
    const policy = body.policy;
    if (policy !== undefined) {
      if (name !== undefined)
        throw invalid("give name (a stored policy) or policy (an unsaved one), not both");
      if (typeof policy !== "object" || policy === null || Array.isArray(policy)) {
        throw invalid("policy must be an object {name, repositories, rules}");
      }
      const p = policy as Record<string, unknown>;
      return retention.preview({
        policy: { name: p.name ?? "preview", repositories: p.repositories, rules: p.rules },
      });
    }
    return retention.preview(name === undefined ? {} : { name });
  });

  route("POST", "/retention/apply", true, async ({ request, audit }) => {
    const body = await optionalBody(request);
    const name = optionalName(body);
    const plan = body.plan === undefined ? undefined : planOf(body.plan);
    const result = await retention.apply({
      ...(name === undefined ? {} : { name }),
      ...(plan === undefined ? {} : { plan }),
    });
    await audit("retention.apply", name ?? "*", auditDetail(result, name));
    return result;
  });
}

/** Preview and apply take an empty body (every stored policy). */
async function optionalBody(request: FastifyRequest): Promise<Record<string, unknown>> {
  const length = request.headers["content-length"];
  if ((length === undefined || length === "0") && request.headers["transfer-encoding"] === undefined)
    return {};
  return jsonBody(request);
}

function optionalName(body: Record<string, unknown>): string | undefined {
  return body.name === undefined ? undefined : requireString(body, "name");
}

function planOf(value: unknown): PlannedRemoval[] {
  if (!Array.isArray(value) || value.length > MAX_PLAN_ENTRIES) {
    throw invalid(`plan must be a list of at most ${MAX_PLAN_ENTRIES} {repository, tag, digest}`);
  }
  return value.map((entry) => {
    const e = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof e.repository !== "string" || typeof e.tag !== "string" || typeof e.digest !== "string") {
      throw invalid("each plan entry must be {repository, tag, digest}, strings");
    }
    return { repository: e.repository, tag: e.tag, digest: e.digest };
  });
}

function invalid(message: string): RegistryError {
  return new RegistryError("INVALID_REQUEST", message);
}
