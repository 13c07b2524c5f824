/**
 * The admin API's garbage collection as it goes over the wire (POST/GET /api/v1/gc, GET /api/v1/gc/:id):
 * what the server answers and the CLI reads; the registry's own report, as is.
 */
export type {
  GcReport as GcReportDto,
  GcProgress as GcProgressDto,
  PhaseReport as GcPhaseDto,
  RemovedItem as GcItemDto,
} from "../registry/gc/types.js";

export interface GcRunsDto {
  runs: import("../registry/gc/types.js").GcReport[];
}
