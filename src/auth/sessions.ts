import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../metadata/database.js";
import {
  deleteExpiredUiSessions,
  deleteUiSession,
  findUiSession,
  insertUiSession,
  touchUiSession,
  type UiSessionRow,
} from "../metadata/ui-sessions.js";
import type { Authenticator } from "./authenticator.js";
import type { Identity } from "./identity.js";

export type UserIdentity = Extract<Identity, { kind: "user" }>;

/** A signed-in web UI user, as a request carrying the session's cookie is. */
export interface UiSession {
  identity: UserIdentity;
  /** What the UI must send in `X-Wharf-CSRF` for the admin API. */
  csrf: string;
  expiresAt: string;
}

export interface NewUiSession extends UiSession {
  /** The cookie's value: returned once, stored nowhere (the database keeps its hash). */
  cookie: string;
  /** How long the browser keeps the cookie: the absolute limit (the idle limit is the server's). */
  maxAgeSeconds: number;
}

export interface SessionLimits {
  /** A session unused for this long ends (sliding). */
  idleMs: number;
  /** A session ends this long after sign-in, however much it is used. */
  absoluteMs: number;
}

export const SESSION_LIMITS: SessionLimits = { idleMs: 12 * 3600_000, absoluteMs: 7 * 24 * 3600_000 };
/** last_seen_at is refreshed at most this often per session: reads stay reads. */
const TOUCH_EVERY_MS = 60_000;
/** Expired rows deleted per sign-in: each sign-in adds one row and removes up to this many dead ones. */
const SWEEP_LIMIT = 100;
/** 32 random bytes, base64url: anything else is not one of ours and costs no database read. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Web UI sessions, kept in the database so that every node honours them and a sign-out, a password
 * change or a removed user ends them everywhere at once. Each use re-checks the account through the
 * authenticator (removed, or its password changed since: the session is dead).
 */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly authenticator: Pick<Authenticator, "identityForRefresh">,
    private readonly limits: SessionLimits = SESSION_LIMITS,
  ) {}

  async create(identity: UserIdentity): Promise<NewUiSession> {
    const cookie = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    const at = Date.now();
    const createdAt = new Date(at).toISOString();
    const expiresAt = this.expiry(at, at);
    await deleteExpiredUiSessions(this.db, createdAt, SWEEP_LIMIT);
    await insertUiSession(this.db, {
      id_hash: hashOf(cookie),
      subject: identity.name,
      account_created_at: identity.createdAt,
      account_version: identity.version,
      csrf,
      created_at: createdAt,
      expires_at: expiresAt,
      last_seen_at: createdAt,
    });
    return {
      identity,
      csrf,
      expiresAt,
      cookie,
      maxAgeSeconds: Math.floor(this.limits.absoluteMs / 1000),
    };
  }

  /** The live session a cookie names, or null (none, unknown, expired, or its account no longer valid). */
  async resolve(cookie: string | undefined): Promise<UiSession | null> {
    if (cookie === undefined || !COOKIE_VALUE.test(cookie)) return null;
    const idHash = hashOf(cookie);
    const row = await findUiSession(this.db, idHash);
    if (!row) return null;
    const at = Date.now();
    if (row.expires_at <= new Date(at).toISOString()) {
      await deleteUiSession(this.db, idHash);
      return null;
    }
    const identity = await this.authenticator.identityForRefresh({
      kind: "user",
      name: row.subject,
      version: Number(row.account_version),
      accountCreatedAt: row.account_created_at,
    });
    if (identity?.kind !== "user") {
      await deleteUiSession(this.db, idHash);
      return null;
    }
    return { identity, csrf: row.csrf, expiresAt: await this.slide(row, at) };
  }

  async end(cookie: string | undefined): Promise<void> {
    if (cookie === undefined || !COOKIE_VALUE.test(cookie)) return;
    await deleteUiSession(this.db, hashOf(cookie));
  }

  /** The idle expiry moved forward, written at most once a minute per session. */
  private async slide(row: UiSessionRow, at: number): Promise<string> {
    if (at - Date.parse(row.last_seen_at) < TOUCH_EVERY_MS) return row.expires_at;
    const expiresAt = this.expiry(Date.parse(row.created_at), at);
    const seenAt = new Date(at).toISOString();
    await touchUiSession(
      this.db,
      row.id_hash,
      seenAt,
      expiresAt,
      new Date(at - TOUCH_EVERY_MS).toISOString(),
    );
    return expiresAt;
  }

  private expiry(createdMs: number, seenMs: number): string {
    return new Date(Math.min(seenMs + this.limits.idleMs, createdMs + this.limits.absoluteMs)).toISOString();
  }
}

/** Whether the `X-Wharf-CSRF` header holds the session's value (compared in constant time). */
export function csrfMatches(session: UiSession, header: string | string[] | undefined): boolean {
  if (typeof header !== "string") return false;
  const expected = Buffer.from(session.csrf);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function hashOf(cookie: string): string {
  return createHash("sha256").update(cookie).digest("hex");
}
