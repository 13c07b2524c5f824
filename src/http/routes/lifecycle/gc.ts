import { RegistryError } from "../../../oci/errors.js";
import { GcBusyError } from "../../../registry/gc/collector.js";
import type { GcReportDto, GcRunsDto } from "../../../api/gc.js";
import type { Services } from "../../server.js";
import { jsonBody, type AdminRoute } from "../admin.js";

/** Runs listed by GET /api/v1/gc unless ?limit= says fewer. */
const DEFAULT_LIST = 20;
const RUN_ID = /^[0-9a-f-]{36}$/;

/**
 * Garbage collection, for administrators: POST /api/v1/gc `{"dryRun": bool, "graceMs"?: n}` starts a run and answers
 * 202 with it at once (409 CONFLICT naming the run in progress, on this or another node); GET
 * /api/v1/gc lists recent runs; GET /api/v1/gc/:id is one run, its progress while it runs and its
 * report (what was removed) once done. The run is audited as `gc.run` when it ends. A graceMs below
 * min(gc.grace, 60 s) or above 10 years is refused by the collector with 400 INVALID_REQUEST.
 */
export function registerGcRoutes(route: AdminRoute, services: Services): void {
  const { gc } = services.registry;

  route("POST", "/gc", true, async ({ request, reply, caller }): Promise<GcReportDto> => {
    const body = await jsonBody(request);
    const dryRun = body.dryRun ?? false;
    if (typeof dryRun !== "boolean")
      throw new RegistryError("INVALID_REQUEST", "dryRun must be true or false");
    const graceMs = body.graceMs;
    if (graceMs !== undefined && !(Number.isSafeInteger(graceMs) && (graceMs as number) >= 0)) {
      throw new RegistryError("INVALID_REQUEST", "graceMs must be a whole number of milliseconds, 0 or more");
    }
    try {
      const started = await gc.begin({
        dryRun,
        trigger: "manual",
        actor: caller.name,
        client: request.ip,
        ...(graceMs === undefined ? {} : { graceMs: graceMs as number }),
      });
      reply.code(202);
      reply.header("Location", `/api/v1/gc/${started.id}`);
      return started.report;
    } catch (err) {
      if (err instanceof GcBusyError) throw new RegistryError("CONFLICT", err.message, err.running);
      throw err;
    }
  });

  route("GET", "/gc", true, async ({ request }): Promise<GcRunsDto> => {
    const raw = (request.query as Record<string, unknown>).limit;
    const limit = raw === undefined ? DEFAULT_LIST : Number(raw);
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RegistryError("INVALID_REQUEST", "limit must be a positive integer");
    }
    return { runs: await gc.list(limit) };
  });

  route("GET", "/gc/:id", true, async ({ params }): Promise<GcReportDto> => {
    const id = params.id ?? "";
    const run = RUN_ID.test(id) ? await gc.get(id) : null;
    if (!run)
      throw new RegistryError("NOT_FOUND", "no garbage collection run with this id", { id: id.slice(0, 80) });
    return run;
  });
}
