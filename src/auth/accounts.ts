import { randomBytes } from "node:crypto";
import type { Db } from "../metadata/database.js";
import type { RobotsTable } from "../metadata/schema.js";
import {
  deleteUserKeepingAnAdmin,
  findRobot,
  findUser,
  insertRobot,
  insertUser,
  listRobots,
  listUsers,
  nameTaken,
  revokeRobot,
  updatePassword,
} from "../metadata/identities.js";
import {
  deleteAccessRule,
  deleteRulesForSubject,
  insertAccessRule,
  listAccessRules,
} from "../metadata/access-rules.js";
import { inAuthChange } from "../metadata/change-counters.js";
import { deleteUiSessionsOf } from "../metadata/ui-sessions.js";
import { now } from "../metadata/time.js";
import { AccountError } from "./errors.js";
import { compileGlob, GlobSyntaxError } from "./glob.js";
import { generateSecret, hashSecret } from "./passwords.js";
import { isRepositoryAction, REPOSITORY_ACTIONS, SCOPE_ACTIONS } from "./scopes.js";

export interface UserInfo {
  name: string;
  admin: boolean;
  createdAt: string;
}

export interface RobotInfo {
  name: string;
  repositories: string[];
  actions: string[];
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  createdBy: string;
  createdAt: string;
}

export interface RuleInfo {
  id: string;
  subject: string;
  pattern: string;
  actions: string[];
  createdBy: string;
  createdAt: string;
}

export interface NewRobot {
  name: string;
  repositories: string[];
  actions: string[];
  /** Absolute expiry, or null for a robot that never expires (only when asked for explicitly). */
  expiresAt: string | null;
}

const NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
const RESERVED = new Set(["anonymous", "authenticated", "admin-api"]);
const PATTERN = /^[a-z0-9._\-/*?{},![\]]{1,255}$/;
export const MIN_PASSWORD_LENGTH = 8;

function requireName(name: string): void {
  if (!NAME.test(name) || RESERVED.has(name)) {
    throw new AccountError(
      "invalid",
      `invalid name ${JSON.stringify(name)}: use 1-64 lower-case letters, digits, '.', '_' or '-'` +
        `, starting and ending with a letter or digit (anonymous and authenticated are reserved)`,
    );
  }
}

export function requirePassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > 1024) {
    throw new AccountError("invalid", `a password must have ${MIN_PASSWORD_LENGTH} to 1024 characters`);
  }
}

export function requirePattern(pattern: string): void {
  const invalid = (why: string) =>
    new AccountError(
      "invalid",
      `invalid repository pattern ${JSON.stringify(pattern.slice(0, 300))}: ${why}`,
    );
  if (!PATTERN.test(pattern) || pattern.includes("..")) {
    throw invalid("a repository name with globs (*, **, ?, [a-z], {a,b}), at most 255 characters");
  }
  try {
    compileGlob(pattern);
  } catch (err) {
    if (err instanceof GlobSyntaxError) throw invalid(err.message);
    throw err;
  }
}

function requireActions(actions: string[], allowed: readonly string[], what: string): string[] {
  const unique = [...new Set(actions)];
  if (unique.length === 0) throw new AccountError("invalid", `${what}: at least one action is needed`);
  const bad = unique.filter((a) => !isRepositoryAction(a) || !allowed.includes(a));
  if (bad.length > 0) {
    throw new AccountError(
      "invalid",
      `${what}: unknown or not allowed action(s) ${bad.join(", ")}; use ${allowed.join(", ")}`,
    );
  }
  return unique;
}

/** Who rules may name: anonymous, every authenticated user, one user, or one robot. */
export function requireSubject(subject: string): void {
  if (subject === "anonymous" || subject === "authenticated") return;
  const match = /^(user|robot):(.+)$/.exec(subject);
  if (!match) {
    throw new AccountError(
      "invalid",
      `invalid subject ${JSON.stringify(subject)}: use anonymous, authenticated, user:NAME or robot:NAME`,
    );
  }
  requireName(match[2] ?? "");
}

/**
 * Users, robot tokens and access rules: validated changes to who may do what. Every change bumps the
 * auth change counter in its own transaction, so every node drops its caches (Authenticator.watchChanges).
 */
export class Accounts {
  constructor(
    private readonly db: Db,
    /** Called after every change, so this process's cached logins and policies are dropped at once. */
    private readonly changed: () => void,
  ) {}

  async addUser(name: string, password: string, admin: boolean): Promise<UserInfo> {
    requireName(name);
    requirePassword(password);
    if (await nameTaken(this.db, name))
      throw new AccountError("conflict", `the name ${name} is already taken`);
    const hash = await hashSecret(password);
    await inAuthChange(this.db, (trx) => insertUser(trx, name, hash, admin));
    this.changed();
    const user = await findUser(this.db, name);
    return { name, admin, createdAt: user?.created_at ?? now() };
  }

  /** Refuses to remove the last administrator, atomically (see deleteUserKeepingAnAdmin). */
  async removeUser(name: string): Promise<void> {
    const result = await inAuthChange(this.db, async (trx) => {
      const deleted = await deleteUserKeepingAnAdmin(trx, name);
      if (deleted === "deleted") {
        await deleteRulesForSubject(trx, `user:${name}`);
        await deleteUiSessionsOf(trx, name);
      }
      return deleted;
    });
    if (result === "not_found") throw new AccountError("not_found", `no user named ${name}`);
    if (result === "last_admin") {
      throw new AccountError("conflict", `${name} is the last administrator; add another one first`);
    }
    this.changed();
  }

  async setPassword(name: string, password: string): Promise<void> {
    requirePassword(password);
    const hash = await hashSecret(password);
    // The old password's web UI sessions end with it, on every node.
    const changed = await inAuthChange(this.db, async (trx) => {
      const updated = await updatePassword(trx, name, hash);
      if (updated) await deleteUiSessionsOf(trx, name);
      return updated;
    });
    if (!changed) {
      throw new AccountError("not_found", `no user named ${name}`);
    }
    this.changed();
  }

  async users(): Promise<UserInfo[]> {
    return (await listUsers(this.db)).map((u) => ({
      name: u.name,
      admin: u.admin === 1,
      createdAt: u.created_at,
    }));
  }

  /** Returns the robot and its secret: the only time the secret exists outside its hash. */
  async createRobot(robot: NewRobot, createdBy: string): Promise<{ robot: RobotInfo; secret: string }> {
    requireName(robot.name);
    if (robot.repositories.length === 0)
      throw new AccountError("invalid", "a token needs at least one repository pattern");
    robot.repositories.forEach(requirePattern);
    const actions = requireActions(robot.actions, SCOPE_ACTIONS, "token actions");
    if (robot.expiresAt !== null && robot.expiresAt <= new Date().toISOString()) {
      throw new AccountError("invalid", "the expiry must be in the future");
    }
    if (await nameTaken(this.db, robot.name)) {
      throw new AccountError("conflict", `the name ${robot.name} is already taken`);
    }
    const secret = generateSecret();
    const row = {
      name: robot.name,
      secret_hash: await hashSecret(secret),
      repositories: JSON.stringify(robot.repositories),
      actions: JSON.stringify(actions),
      expires_at: robot.expiresAt,
      last_used_at: null,
      revoked_at: null,
      created_by: createdBy,
      created_at: now(),
    };
    await inAuthChange(this.db, (trx) => insertRobot(trx, row));
    this.changed();
    return { robot: robotInfo(row), secret };
  }

  async robots(): Promise<RobotInfo[]> {
    return (await listRobots(this.db)).map(robotInfo);
  }

  async revokeRobot(name: string): Promise<void> {
    if (!(await inAuthChange(this.db, (trx) => revokeRobot(trx, name)))) {
      const exists = await findRobot(this.db, name);
      throw new AccountError(
        exists ? "conflict" : "not_found",
        exists ? `${name} is already revoked` : `no token named ${name}`,
      );
    }
    this.changed();
  }

  async rules(): Promise<RuleInfo[]> {
    return (await listAccessRules(this.db)).map((r) => ({
      id: r.id,
      subject: r.subject,
      pattern: r.pattern,
      actions: JSON.parse(r.actions) as string[],
      createdBy: r.created_by,
      createdAt: r.created_at,
    }));
  }

  async addRule(subject: string, pattern: string, actions: string[], createdBy: string): Promise<RuleInfo> {
    requireSubject(subject);
    requirePattern(pattern);
    await this.requireSubjectExists(subject);
    // A registry with accounts is never open to anonymous writes.
    const allowed = subject === "anonymous" ? ["pull"] : REPOSITORY_ACTIONS;
    const checked = requireActions(
      actions,
      allowed,
      subject === "anonymous" ? "anonymous access" : "rule actions",
    );
    const rule = {
      id: randomBytes(6).toString("hex"),
      subject,
      pattern,
      actions: JSON.stringify(checked),
      created_by: createdBy,
      created_at: now(),
    };
    await inAuthChange(this.db, (trx) => insertAccessRule(trx, rule));
    this.changed();
    return { id: rule.id, subject, pattern, actions: checked, createdBy, createdAt: rule.created_at };
  }

  /** A rule for `user:NAME` or `robot:NAME` must name an account that exists (typos grant nothing). */
  private async requireSubjectExists(subject: string): Promise<void> {
    const [kind, name = ""] = subject.split(":", 2);
    if (kind === "user" && !(await findUser(this.db, name))) {
      throw new AccountError("not_found", `no user named ${name}: add the user first`);
    }
    if (kind === "robot" && !(await findRobot(this.db, name))) {
      throw new AccountError("not_found", `no token named ${name}: create the token first`);
    }
  }

  async removeRule(id: string): Promise<void> {
    if (!(await inAuthChange(this.db, (trx) => deleteAccessRule(trx, id))))
      throw new AccountError("not_found", `no rule with id ${id}`);
    this.changed();
  }
}

function robotInfo(row: Omit<RobotsTable, "secret_hash">): RobotInfo {
  return {
    name: row.name,
    repositories: JSON.parse(row.repositories) as string[],
    actions: JSON.parse(row.actions) as string[],
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}
