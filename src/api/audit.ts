/** One audit event as GET /api/v1/audit answers it; the server's route checks its records fit. */
export interface AuditRecordDto {
  seq: number;
  at: string;
  actor: string;
  client: string;
  action: string;
  repository: string | null;
  target: string | null;
  outcome: "ok" | "denied" | "failed";
  detail: Record<string, unknown> | null;
}
