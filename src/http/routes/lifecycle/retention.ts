import type { Services } from "../../server.js";
import type { AdminRoute } from "../admin.js";

/** SKELETON on main, filled in by its engineer: retention policies: GET/POST /api/v1/retention, DELETE /api/v1/retention/:name, POST /api/v1/retention/preview. */
export function registerRetentionRoutes(route: AdminRoute, services: Services): void {
  void route;
  void services;
}
