import { RegistryError } from "../oci/errors.js";
import { isValidRepositoryName } from "../oci/names.js";

/** What a caller may do to a repository. `admin` includes the other three. */
export const REPOSITORY_ACTIONS = ["pull", "push", "delete", "admin"] as const;
export type RepositoryAction = (typeof REPOSITORY_ACTIONS)[number];
/** What a token or a `repository:NAME:...` scope can carry: `admin` is a role in rules, not a scope. */
export const SCOPE_ACTIONS = ["pull", "push", "delete"] as const;

export function isScopeAction(value: string): value is (typeof SCOPE_ACTIONS)[number] {
  return (SCOPE_ACTIONS as readonly string[]).includes(value);
}

export function isRepositoryAction(value: string): value is RepositoryAction {
  return (REPOSITORY_ACTIONS as readonly string[]).includes(value);
}

/** The scope a token needs to be used on the admin API (/api/v1/): granted to administrators only. */
export const ADMIN_SCOPE = "registry:admin:*";

/** Whether a token's granted access includes the admin scope. */
export function tokenGrantsAdmin(access: readonly AccessEntry[]): boolean {
  return access.some((e) => e.type === "registry" && e.name === "admin" && e.actions.includes("*"));
}

/** One entry of a token's `access` claim, and of a requested scope (Docker token spec). */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses `repository:team/app:pull,push` or `registry:catalog:*`. The name may itself hold colons
 * (`repository:host:5000/app:pull`), so type is before the first colon and actions after the last.
 */
export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last <= first) return undefined;
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(",")
    .filter((a) => a !== "");
  if (!name || actions.length === 0) return undefined;
  return { type, name, actions };
}

/** Scopes arrive space-separated in one parameter, or repeated: both are accepted. */
export function parseScopes(values: string[]): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const value of values) {
    for (const part of value.split(" ")) {
      const entry = part ? parseScope(part) : undefined;
      if (entry) entries.push(entry);
    }
  }
  return entries;
}

export function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(",")}`;
}

/** Whether a granted action set covers `action` (admin covers all; `*` covers all). */
export function actionsCover(granted: readonly string[], action: string): boolean {
  return granted.includes(action) || granted.includes("*") || (granted.includes("admin") && action !== "*");
}

/** Every `repository:NAME:…` scope must name a valid repository (grammar, 255 characters). */
export function requireScopeNames(entries: readonly AccessEntry[]): void {
  for (const entry of entries) {
    if (entry.type === "repository" && !isValidRepositoryName(entry.name)) {
      throw new RegistryError(
        "NAME_INVALID",
        "invalid repository name in scope: use the OCI name grammar, at most 255 characters",
        { name: entry.name.slice(0, 300) },
      );
    }
  }
}
