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

/** Repeats of one refusal (same actor, action, repository, address, reason) are recorded once per window. */
const DENIED_REPEAT_MS = 60_000;
/** And no address gets more than this many refusals recorded per window, however it varies them. */
const DENIED_PER_CLIENT = 100;
/** Nor all addresses together: rotating addresses buys no more rows than this per window. */
const DENIED_PER_WINDOW = 1000;
/** More than DENIED_PER_WINDOW, so that evicting the oldest never forgets a key still in its window. */
const TRACKED_KEYS = 10_000;

interface Budget {
  since: number;
  count: number;
}

/**
 * Bounds the records an attacker can cause: denied attempts are cheap to send, so without this a
 * client could fill the database with them. Memory is bounded too, by evicting the oldest keys (never
 * by clearing, which would hand every address a fresh budget). Per node on purpose: it bounds log
 * volume, not access, so N nodes allow N times the rows (still bounded), and sharing it would cost a
 * database write for every refusal, the very load it exists to avoid.
 */
class DeniedThrottle {
  private readonly seen = new Map<string, number>();
  private readonly perClient = new Map<string, Budget>();
  private overall: Budget = { since: 0, count: 0 };

  admit(event: AuditEvent, at = Date.now()): boolean {
    // A refusal about one artifact (a trust decision names its digest) folds per artifact.
    const key = [
      event.actor,
      event.action,
      event.repository ?? "",
      event.client,
      event.detail?.reason ?? "",
      event.detail?.digest ?? "",
    ]
      .map(String)
      .join("\0");
    const last = this.seen.get(key);
    if (last !== undefined && at - last < DENIED_REPEAT_MS) return false;
    if (at - this.overall.since >= DENIED_REPEAT_MS) this.overall = { since: at, count: 0 };
    if (this.overall.count >= DENIED_PER_WINDOW) return false;
    let budget = this.perClient.get(event.client);
    if (!budget || at - budget.since >= DENIED_REPEAT_MS) budget = { since: at, count: 0 };
    if (budget.count >= DENIED_PER_CLIENT) return false;
    budget.count++;
    this.overall.count++;
    remember(this.perClient, event.client, budget);
    remember(this.seen, key, at);
    return true;
  }
}

/** Sets a key as the newest, evicting the oldest past TRACKED_KEYS (a Map keeps insertion order). */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= TRACKED_KEYS) break;
    map.delete(oldest);
  }
}

/** Login failures the lockout does not already bound (it counts and limits the others). */
const UNBOUNDED_FAILURES = new Set(["locked_out", "invalid_refresh_token"]);

/** The audit log: pushes, deletes, tag changes, logins, refusals, account and permission changes. */
export class AuditLog {
  private readonly recentLogins = new Map<string, number>();
  private readonly denied = new DeniedThrottle();
  /** Its own budget: warnings on served pulls must not use up the refusals'. */
  private readonly repeated = new DeniedThrottle();

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
   * A refused request (who, which action, which repository, why), as outcome `denied`. Repeats are
   * folded (see DeniedThrottle), so a flood of refusals costs a bounded number of rows.
   */
  async recordDenied(event: Omit<AuditEvent, "outcome">): Promise<void> {
    if (!this.denied.admit(event)) return;
    await this.record({ ...event, outcome: "denied" });
  }

  /**
   * An event every request of a kind may cause (a trust warning on each pull of an unsigned artifact):
   * folded per actor, action, repository, address, reason and artifact, bounded like refusals.
   */
  async recordRepeated(event: AuditEvent): Promise<void> {
    if (!this.repeated.admit(event)) return;
    await this.record(event);
  }

  /**
   * Clients such as podman fetch a token with credentials before every operation: a successful login
   * is recorded once per account and address every ten minutes. Each evaluated failure is recorded
   * with its reason (the lockout bounds how many there are); lockouts and bad refresh tokens, which
   * cost an attacker nothing, are folded like other refusals.
   */
  // recentLogins folds per node, like DeniedThrottle: several nodes record a login once each per ten
  // minutes at most, which keeps the log bounded without a shared write per login.
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
    } else if (UNBOUNDED_FAILURES.has(String(detail?.reason))) {
      if (!this.denied.admit({ actor, client, action: "login", detail })) return;
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
