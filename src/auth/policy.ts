import { isValidRepositoryName } from "../oci/names.js";
import { compileGlob, GlobSyntaxError, type Matcher } from "./glob.js";
import type { Identity } from "./identity.js";
import { actionsCover, isScopeAction, type RepositoryAction } from "./scopes.js";

/** A grant as stored: subject may do actions on repositories matching pattern. */
export interface Rule {
  subject: string;
  pattern: string;
  actions: string[];
}

interface CompiledGrant {
  matches: (repository: string) => boolean;
  actions: string[];
}

const matcherCache = new Map<string, Matcher>();

/**
 * Glob over repository names: `team-a/**` matches `team-a` and everything below it. Linear in the
 * name (see glob.ts); a stored pattern that no longer compiles matches nothing.
 */
export function repositoryMatcher(pattern: string): Matcher {
  let matcher = matcherCache.get(pattern);
  if (!matcher) {
    try {
      matcher = compileGlob(pattern);
    } catch (err) {
      if (!(err instanceof GlobSyntaxError)) throw err;
      matcher = () => false;
    }
    if (matcherCache.size > 10_000) matcherCache.clear();
    matcherCache.set(pattern, matcher);
  }
  return matcher;
}

/**
 * Decides what an identity may do to a repository. Administrators may do everything. Everyone gets
 * what `anonymous` rules grant; users add `authenticated` and `user:NAME` rules; robots add their own
 * patterns and `robot:NAME` rules, and nothing granted to all users, so a robot stays inside its scope.
 */
export class Policy {
  private readonly bySubject = new Map<string, CompiledGrant[]>();

  constructor(rules: readonly Rule[]) {
    for (const rule of rules) {
      const list = this.bySubject.get(rule.subject) ?? [];
      list.push({ matches: repositoryMatcher(rule.pattern), actions: rule.actions });
      this.bySubject.set(rule.subject, list);
    }
  }

  can(identity: Identity, repository: string, action: RepositoryAction): boolean {
    // Names are validated where they enter; this keeps any path that forgot from matching junk.
    if (!isValidRepositoryName(repository)) return false;
    if (identity.kind === "user" && identity.admin) return true;
    return this.grantsFor(identity).some((g) => g.matches(repository) && actionsCover(g.actions, action));
  }

  /** The subset of `wanted` the identity may do to the repository. */
  permitted(identity: Identity, repository: string, wanted: readonly string[]): RepositoryAction[] {
    return wanted.filter(
      (action): action is RepositoryAction => isScopeAction(action) && this.can(identity, repository, action),
    );
  }

  private grantsFor(identity: Identity): CompiledGrant[] {
    const grants = [...(this.bySubject.get("anonymous") ?? [])];
    if (identity.kind === "user") {
      grants.push(...(this.bySubject.get("authenticated") ?? []));
      grants.push(...(this.bySubject.get(`user:${identity.name}`) ?? []));
    } else if (identity.kind === "robot") {
      for (const pattern of identity.repositories) {
        grants.push({ matches: repositoryMatcher(pattern), actions: identity.actions });
      }
      grants.push(...(this.bySubject.get(`robot:${identity.name}`) ?? []));
    }
    return grants;
  }
}
