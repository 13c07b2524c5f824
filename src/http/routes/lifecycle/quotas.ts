import { RegistryError } from "../../../oci/errors.js";
import { QuotaError } from "../../../registry/quotas/service.js";
import { namespaceUsage } from "../../../registry/quotas/usage.js";
import type { Services } from "../../server.js";
import { jsonBody, requireString, type AdminCall, type AdminRoute, type Handler } from "../admin.js";

/**
 * Quotas and usage: GET/POST /api/v1/quotas, DELETE /api/v1/quotas/:name, GET /api/v1/usage. Admin
 * only; adding and removing are audited.
 */
export function registerQuotaRoutes(route: AdminRoute, services: Services): void {
  const { quotas } = services.registry;
  route(
    "GET",
    "/quotas",
    true,
    mapped(async () => ({ quotas: await quotas.list() })),
  );
  route(
    "POST",
    "/quotas",
    true,
    mapped(async ({ request, reply, caller, audit }) => {
      const body = await jsonBody(request);
      const limit = body.limit;
      if (typeof limit !== "number" && typeof limit !== "string") {
        throw new RegistryError(
          "INVALID_REQUEST",
          'limit must be a number of bytes or a size such as "10GiB"',
        );
      }
      const added = await quotas.add(
        { name: requireString(body, "name"), repositories: requireString(body, "repositories"), limit },
        caller.name,
      );
      const { quota } = added;
      await audit("quota.add", quota.name, {
        repositories: quota.repositories,
        limit: quota.limit,
        used: quota.used,
        ...(added.previousLimit === undefined ? {} : { previousLimit: added.previousLimit }),
      });
      reply.code(added.created ? 201 : 200);
      return quota;
    }),
  );
  route(
    "DELETE",
    "/quotas/:name",
    true,
    mapped(async ({ reply, params, audit }) => {
      const quota = await quotas.remove(params.name ?? "");
      await audit("quota.remove", quota.name, {
        repositories: quota.repositories,
        limit: quota.limit,
        used: quota.used,
      });
      return reply.code(204).send();
    }),
  );
  route(
    "GET",
    "/usage",
    true,
    mapped(async ({ request }) => {
      const query = request.query as Record<string, string | undefined>;
      return namespaceUsage(services.registry.db, query.namespace ?? "**", {
        ...(query.after ? { after: query.after } : {}),
        ...(query.limit === undefined ? {} : { limit: Number(query.limit) }),
      });
    }),
  );
}

const CODES = { invalid: "INVALID_REQUEST", not_found: "NOT_FOUND", conflict: "CONFLICT" } as const;

/** The domain's input errors as the admin API's 400, 404 and 409. */
function mapped(handler: Handler): Handler {
  return async (call: AdminCall) => {
    try {
      return await handler(call);
    } catch (err) {
      if (err instanceof QuotaError) throw new RegistryError(CODES[err.kind], err.message);
      throw err;
    }
  };
}
