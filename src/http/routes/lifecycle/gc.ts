import type { Services } from "../../server.js";
import type { AdminRoute } from "../admin.js";

/** SKELETON on main, filled in by its engineer: garbage collection: POST /api/v1/gc (run, or ?dryRun), GET /api/v1/gc (runs), GET /api/v1/gc/:id. */
export function registerGcRoutes(route: AdminRoute, services: Services): void {
  void route;
  void services;
}
