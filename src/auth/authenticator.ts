import { createHash } from "node:crypto";
import type { Db } from "../metadata/database.js";
import { anyUserExists, findRobot, findUser, touchRobot } from "../metadata/identities.js";
import { listAccessRules } from "../metadata/access-rules.js";
import { getSetting, putSetting } from "../metadata/settings.js";
import { authGeneration } from "../metadata/change-counters.js";
import type { RobotsTable, UsersTable } from "../metadata/schema.js";
import { now } from "../metadata/time.js";
import { LoginError, type LoginFailure } from "./errors.js";
import { ANONYMOUS, type Identity } from "./identity.js";
import { burnVerification, verifySecret } from "./passwords.js";
import { Policy } from "./policy.js";
import { DatabaseLimiter, type LoginLimiter } from "./rate-limit.js";
import { actionsCover, type AccessEntry } from "./scopes.js";
import type { TokenSubject } from "./tokens.js";

export interface AuthenticatorOptions {
  /** Auth was switched on in the configuration (it is also on whenever a user exists). */
  configured: boolean;
  /** Failed logins allowed per user name, and per client address, in `lockoutWindowMs`. */
  maxFailuresPerUser: number;
  maxFailuresPerClient: number;
  lockoutWindowMs: number;
}

/**
 * How long answers about accounts and rules are reused. Every change bumps a counter in the database
 * that each node polls (see watchChanges), so this only bounds staleness should a poll keep failing.
 */
const CACHE_MS = 1000;
const BASIC_CACHE_MS = 30_000;
/** How often the change counter is read: a change on any node is seen by every other within this. */
const CHANGE_POLL_MS = 250;
const AUTH_REQUIRED = "auth.required";

interface Cached<T> {
  value: T;
  until: number;
}

/**
 * Logins, token subjects and permission checks. Reads go through short caches so that a request
 * costs no database round trip; any change to accounts or rules made through this process clears
 * them immediately (revocation takes effect at once), and changes made by another node or process
 * (another `wharf serve`, the bootstrap `wharf user add --data-dir`) bump the database's change
 * counter, which watchChanges polls: they are seen within CHANGE_POLL_MS, with no query per request.
 */
export class Authenticator {
  private enabled: boolean;
  private enabledCheckedAt = 0;
  private policyCache: Cached<Policy> | undefined;
  private readonly subjects = new Map<string, Cached<Identity | undefined>>();
  private readonly basicLogins = new Map<string, Cached<Identity>>();
  private readonly robotTouched = new Map<string, number>();
  private readonly limiter: LoginLimiter;
  private generation: number | undefined;
  /** Bumped by invalidate(): an answer loaded across an invalidation is not cached (it may be stale). */
  private epoch = 0;
  private watcher: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly options: AuthenticatorOptions,
  ) {
    this.enabled = options.configured;
    this.limiter = new DatabaseLimiter(
      db,
      options.maxFailuresPerUser,
      options.maxFailuresPerClient,
      options.lockoutWindowMs,
    );
  }

  /** On when configured, once any user has existed, and from then on for good (kept in the database). */
  async isEnabled(): Promise<boolean> {
    if (this.enabled) return true;
    const at = Date.now();
    if (at - this.enabledCheckedAt < CACHE_MS) return false;
    this.enabledCheckedAt = at;
    if ((await getSetting(this.db, AUTH_REQUIRED)) === "true" || (await anyUserExists(this.db))) {
      await this.markEnabled();
    }
    return this.enabled;
  }

  async markEnabled(): Promise<void> {
    this.enabled = true;
    await putSetting(this.db, AUTH_REQUIRED, "true");
  }

  /**
   * Checks a name and secret (a user's password or a robot's secret) with limits on failures: the
   * attempt is counted before the hash is computed, so parallel guesses cannot pass the limit.
   */
  async login(name: string, secret: string, client: string): Promise<Identity> {
    const attempt = await this.limiter.begin(name, client);
    if ("retryAfterSeconds" in attempt) {
      const wait = attempt.retryAfterSeconds;
      throw new LoginError(
        "rate_limited",
        `too many failed logins for this name or address; try again in ${describeWait(wait)}`,
        "locked_out",
        wait,
      );
    }
    let checked: Identity | LoginFailure;
    try {
      checked = await this.checkCredentials(name, secret);
    } catch (err) {
      await attempt.failed();
      throw err;
    }
    if (typeof checked === "string") {
      // The database says this account may not sign in: no cached answer may say otherwise.
      this.subjects.delete(`user:${name}`);
      this.subjects.delete(`robot:${name}`);
      await attempt.failed();
      throw new LoginError("invalid", "invalid username or password", checked);
    }
    await attempt.succeeded();
    return checked;
  }

  /**
   * Basic credentials on every request would cost a password hash each: a verified pair is
   * remembered briefly, under a hash of both, never in clear.
   */
  async loginCached(name: string, secret: string, client: string): Promise<Identity> {
    const key = createHash("sha256").update(name).update("\0").update(secret).digest("base64");
    const cached = this.basicLogins.get(key);
    if (cached && cached.until > Date.now()) {
      const current = await this.identityFor(subjectOfIdentity(cached.value));
      if (current) return current;
    }
    const epoch = this.epoch;
    const identity = await this.login(name, secret, client);
    if (epoch !== this.epoch) return identity;
    if (this.basicLogins.size > 10_000) this.basicLogins.clear();
    this.basicLogins.set(key, { value: identity, until: Date.now() + BASIC_CACHE_MS });
    return identity;
  }

  /** The account a token names, if it still exists and may still be used (not revoked, not expired). */
  async identityFor(subject: TokenSubject): Promise<Identity | undefined> {
    if (subject.kind === "anonymous") return ANONYMOUS;
    const key = `${subject.kind}:${subject.name}`;
    const cached = this.subjects.get(key);
    let identity: Identity | undefined;
    if (cached && cached.until > Date.now()) identity = cached.value;
    else {
      const epoch = this.epoch;
      identity = await this.loadIdentity(subject.kind, subject.name);
      if (epoch === this.epoch) {
        if (this.subjects.size > 10_000) this.subjects.clear();
        this.subjects.set(key, { value: identity, until: Date.now() + CACHE_MS });
      }
    }
    if (identity?.kind === "robot" && robotExpired(identity)) return undefined;
    // A token for an earlier account of the same name (deleted, then created again) is someone else's.
    if (identity && identity.kind !== "anonymous" && subject.accountCreatedAt !== identity.createdAt) {
      return undefined;
    }
    return identity;
  }

  /** For refresh tokens: the account must still exist and, for users, the password be unchanged. */
  async identityForRefresh(subject: TokenSubject): Promise<Identity | undefined> {
    const identity = await this.identityFor(subject);
    if (identity?.kind === "user" && identity.version !== subject.version) return undefined;
    return identity;
  }

  async policy(): Promise<Policy> {
    if (this.policyCache && this.policyCache.until > Date.now()) return this.policyCache.value;
    const epoch = this.epoch;
    const rules = (await listAccessRules(this.db)).map((r) => ({
      subject: r.subject,
      pattern: r.pattern,
      actions: JSON.parse(r.actions) as string[],
    }));
    const policy = new Policy(rules);
    if (epoch === this.epoch) this.policyCache = { value: policy, until: Date.now() + CACHE_MS };
    return policy;
  }

  /** What of the requested access the identity gets (Docker token spec: grant the allowed subset). */
  async grant(identity: Identity, requested: AccessEntry[]): Promise<AccessEntry[]> {
    const policy = await this.policy();
    const granted: AccessEntry[] = [];
    for (const entry of requested) {
      if (entry.type === "repository") {
        const actions = policy.permitted(identity, entry.name, entry.actions);
        if (actions.length > 0) granted.push({ type: entry.type, name: entry.name, actions });
      } else if (entry.type === "registry" && entry.name === "catalog") {
        // Everyone may list; the listing shows only what the caller may pull.
        if (entry.actions.some((a) => actionsCover(["*"], a))) {
          granted.push({ type: "registry", name: "catalog", actions: ["*"] });
        }
      } else if (entry.type === "registry" && entry.name === "admin") {
        // The admin API's scope: for administrators who ask for it, never for anyone else.
        if (identity.kind === "user" && identity.admin && entry.actions.includes("*")) {
          granted.push({ type: "registry", name: "admin", actions: ["*"] });
        }
      }
    }
    return granted;
  }

  /**
   * Records robot use, at most once a minute per robot and node: per node is right, last_used_at is
   * informational, and N nodes cost at most N writes a minute per robot.
   */
  async noteUse(identity: Identity): Promise<void> {
    if (identity.kind !== "robot") return;
    const last = this.robotTouched.get(identity.name) ?? 0;
    if (Date.now() - last < 60_000) return;
    this.robotTouched.set(identity.name, Date.now());
    await touchRobot(this.db, identity.name, now());
  }

  /**
   * Polls the change counter (one single-row read every CHANGE_POLL_MS, off the request path) and
   * forgets every cached answer when another node or process changed accounts or rules.
   */
  async watchChanges(): Promise<void> {
    this.generation = await authGeneration(this.db);
    this.watcher = setInterval(() => void this.pollChanges(), CHANGE_POLL_MS);
    this.watcher.unref();
  }

  stopWatching(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }

  private async pollChanges(): Promise<void> {
    let generation: number;
    try {
      generation = await authGeneration(this.db);
    } catch {
      // Unknown whether anything changed: nothing cached may be trusted until a poll succeeds.
      this.invalidate();
      return;
    }
    if (generation !== this.generation) {
      this.generation = generation;
      this.invalidate();
    }
  }

  /** After any change to accounts or rules: forget every cached answer. */
  invalidate(): void {
    this.epoch++;
    this.policyCache = undefined;
    this.subjects.clear();
    this.basicLogins.clear();
  }

  private async checkCredentials(name: string, secret: string): Promise<Identity | LoginFailure> {
    const user = await findUser(this.db, name);
    if (user) {
      if (!(await verifySecret(secret, user.password_hash))) return "wrong_password";
      return userIdentity(user);
    }
    const robot = await findRobot(this.db, name);
    if (robot) {
      if (!(await verifySecret(secret, robot.secret_hash))) return "wrong_password";
      if (robot.revoked_at !== null) return "revoked";
      return robotIdentity(robot) ?? "expired";
    }
    return burnVerification(secret).then(() => "unknown_account" as const);
  }

  private async loadIdentity(kind: "user" | "robot", name: string): Promise<Identity | undefined> {
    if (kind === "user") {
      const user = await findUser(this.db, name);
      if (!user) return undefined;
      return userIdentity(user);
    }
    const robot = await findRobot(this.db, name);
    return robot ? robotIdentity(robot) : undefined;
  }
}

/** `45 seconds`, `15 minutes`: when a locked-out client may try again. */
function describeWait(seconds: number): string {
  if (seconds < 120) return `${seconds} seconds`;
  return `${Math.ceil(seconds / 60)} minutes`;
}

/** A robot that may still be used: not revoked, not expired. */
function robotIdentity(robot: Omit<RobotsTable, "secret_hash">): Identity | undefined {
  if (robot.revoked_at !== null) return undefined;
  const identity: Identity = {
    kind: "robot",
    name: robot.name,
    repositories: JSON.parse(robot.repositories) as string[],
    actions: JSON.parse(robot.actions) as string[],
    expiresAt: robot.expires_at,
    createdAt: robot.created_at,
  };
  return robotExpired(identity) ? undefined : identity;
}

function userIdentity(user: Omit<UsersTable, "password_hash" | "updated_at">): Identity {
  return {
    kind: "user",
    name: user.name,
    admin: user.admin === 1,
    version: Number(user.version),
    createdAt: user.created_at,
  };
}

function robotExpired(identity: Extract<Identity, { kind: "robot" }>): boolean {
  return identity.expiresAt !== null && identity.expiresAt <= new Date().toISOString();
}

export function subjectOfIdentity(identity: Identity): TokenSubject {
  if (identity.kind === "anonymous") return { kind: "anonymous", name: "" };
  const accountCreatedAt = identity.createdAt;
  if (identity.kind === "user") {
    return { kind: "user", name: identity.name, version: identity.version, accountCreatedAt };
  }
  return { kind: "robot", name: identity.name, accountCreatedAt };
}
