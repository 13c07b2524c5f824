import type { Services } from "../../server.js";
import type { AdminRoute } from "../admin.js";

/** SKELETON on main, filled in by its engineer: quotas and usage: GET/POST /api/v1/quotas, DELETE /api/v1/quotas/:name, GET /api/v1/usage. */
export function registerQuotaRoutes(route: AdminRoute, services: Services): void {
  void route;
  void services;
}
