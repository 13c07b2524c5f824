import type { Db } from "../metadata/database.js";
import { insertAuditEvent, queryAuditEvents, type AuditFilter } from "../metadata/audit.js";
import { now } from "../metadata/time.js";
import type { Logger } from "pino";

/** One thing someone did: who, from where, to what, and whether it worked. */
export interface AuditEvent {
  actor: string;
  client: string;
  action: string;
  repository?: string;
  target?: string;
  outcome?: "ok" | "denied" | "failed";
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Required<Omit<AuditEvent, "detail" | "repository" | "target">> {
  seq: number;
  at: string;
  repository: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
}

/** The audit log: pushes, deletes, tag changes, logins, account and permission changes. */
export class AuditLog {
  private readonly recentLogins = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Never fails the action it describes: a write error is logged instead. */
  async record(event: AuditEvent): Promise<void> {
    try {
      await insertAuditEvent(this.db, {
        at: now(),
        actor: event.actor,
        client: event.client,
        action: event.action,
        repository: event.repository ?? null,
        target: event.target ?? null,
        outcome: event.outcome ?? "ok",
        detail: event.detail ? JSON.stringify(event.detail) : null,
      });
    } catch (err) {
      this.log.error({ err, action: event.action }, "audit write failed");
    }
  }

  /**
   * Clients such as podman fetch a token with credentials before every operation: a successful login
   * is recorded once per account and address every ten minutes; every failure is recorded.
   */
  async recordLogin(
    actor: string,
    client: string,
    outcome: "ok" | "failed",
    detail?: Record<string, unknown>,
  ) {
    if (outcome === "ok") {
      const key = `${actor}\0${client}`;
      const last = this.recentLogins.get(key) ?? 0;
      if (Date.now() - last < 10 * 60_000) return;
      if (this.recentLogins.size > 10_000) this.recentLogins.clear();
      this.recentLogins.set(key, Date.now());
    }
    await this.record({ actor, client, action: "login", outcome, detail });
  }

  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    const rows = await queryAuditEvents(this.db, filter);
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: r.at,
      actor: r.actor,
      client: r.client,
      action: r.action,
      repository: r.repository,
      target: r.target,
      outcome: r.outcome as AuditRecord["outcome"],
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null,
    }));
  }
}
