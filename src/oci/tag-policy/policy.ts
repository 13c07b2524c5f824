import { MAX_RANGE_LENGTH } from "./constraints.js";
import { MAX_PATTERN_LENGTH } from "./go-regexp.js";
import { TagPolicyError, type TagPolicy } from "./types.js";

export const MAX_EXTRACT_LENGTH = 256;

/** Checks which fields go together (not the range or regex syntax, which compiling checks). */
export function validatePolicy(policy: TagPolicy): void {
  const has = (value: unknown) => value !== undefined;
  // Policies also come from parsed files and JSON, so check the types the TypeScript signature promises.
  for (const key of ["semver", "semverFilter", "order", "direction", "filter", "extract"] as const) {
    if (has(policy[key]) && typeof policy[key] !== "string")
      throw new TagPolicyError(`${key} must be a string`);
  }
  for (const key of ["helm", "includeReferrerTags"] as const) {
    if (has(policy[key]) && typeof policy[key] !== "boolean")
      throw new TagPolicyError(`${key} must be true or false`);
  }
  if (has(policy.semver) && has(policy.order)) {
    throw new TagPolicyError(
      "a tag policy takes either a semver range or an order (numerical or alphabetical), not both",
    );
  }
  if (!has(policy.semver) && !has(policy.order)) {
    throw new TagPolicyError("a tag policy needs a semver range or an order (numerical or alphabetical)");
  }
  if (has(policy.order) && policy.order !== "numerical" && policy.order !== "alphabetical") {
    throw new TagPolicyError(`order must be numerical or alphabetical, not ${JSON.stringify(policy.order)}`);
  }
  if (has(policy.direction)) {
    if (!has(policy.order))
      throw new TagPolicyError("a direction (asc or desc) applies only to an order, not to a semver range");
    if (policy.direction !== "asc" && policy.direction !== "desc") {
      throw new TagPolicyError(`direction must be asc or desc, not ${JSON.stringify(policy.direction)}`);
    }
  }
  if (has(policy.semverFilter) && !has(policy.semver))
    throw new TagPolicyError("semverFilter applies only to a semver range");
  if (has(policy.helm) && policy.helm && !has(policy.semver)) {
    throw new TagPolicyError("helm (chart tags with _ for +) applies only to a semver range");
  }
  if (has(policy.extract) && !has(policy.filter))
    throw new TagPolicyError("extract needs a filter regex to extract from");
  if (policy.semver !== undefined && policy.semver.trim() === "")
    throw new TagPolicyError("the semver range is empty");
  if (policy.filter === "") throw new TagPolicyError("the filter regex is empty");
  if (policy.extract === "") throw new TagPolicyError("extract is empty");
  if ((policy.extract?.length ?? 0) > MAX_EXTRACT_LENGTH) {
    throw new TagPolicyError(`extract is longer than ${MAX_EXTRACT_LENGTH} characters`);
  }
}

/** One line for messages: `semver ^1.2`, `numerical order (desc) of $ts from filter ^main-(?P<ts>\d+)$`. */
export function describePolicy(policy: TagPolicy): string {
  const parts: string[] = [];
  if (policy.semver !== undefined) {
    parts.push(`semver ${policy.semver}`);
    if (policy.semverFilter !== undefined) parts.push(`semverFilter ${policy.semverFilter}`);
    if (policy.helm) parts.push("(helm chart tags)");
  } else if (policy.order !== undefined) {
    parts.push(`${policy.order} order${policy.direction === "desc" ? " (desc)" : ""}`);
  }
  if (policy.filter !== undefined) {
    parts.push(
      policy.extract !== undefined
        ? `of ${policy.extract} from filter ${policy.filter}`
        : `filter ${policy.filter}`,
    );
  }
  if (policy.includeReferrerTags) parts.push("including referrer tags");
  return parts.join(" ");
}

const STRING_KEYS = ["semver", "semverFilter", "filter", "extract"] as const;
const BOUNDS: Record<(typeof STRING_KEYS)[number], number> = {
  semver: MAX_RANGE_LENGTH,
  semverFilter: MAX_PATTERN_LENGTH,
  filter: MAX_PATTERN_LENGTH,
  extract: MAX_EXTRACT_LENGTH,
};

export type QueryInput = URLSearchParams | Record<string, string | readonly string[] | undefined>;

/**
 * A TagPolicy from URL query parameters `semver`, `semverFilter`, `order`, `direction`, `filter`,
 * `extract`, `helm`, `includeReferrerTags` (other parameters are ignored). Throws TagPolicyError on a
 * repeated or over-long parameter, a bad boolean or enum, or a combination validatePolicy refuses.
 */
export function parsePolicyQuery(params: QueryInput): TagPolicy {
  const get = (key: string): string | undefined => {
    const values =
      params instanceof URLSearchParams ? params.getAll(key) : ([] as string[]).concat(params[key] ?? []);
    if (values.length > 1) throw new TagPolicyError(`query parameter ${key} is given more than once`);
    return values[0];
  };
  const policy: TagPolicy = {};
  for (const key of STRING_KEYS) {
    const value = get(key);
    if (value === undefined) continue;
    if (value.length > BOUNDS[key])
      throw new TagPolicyError(`${key} is longer than ${BOUNDS[key]} characters`);
    policy[key] = value;
  }
  const order = get("order");
  if (order !== undefined) {
    if (order !== "numerical" && order !== "alphabetical") {
      throw new TagPolicyError(
        `order must be numerical or alphabetical, not ${JSON.stringify(order.slice(0, 40))}`,
      );
    }
    policy.order = order;
  }
  const direction = get("direction");
  if (direction !== undefined) {
    if (direction !== "asc" && direction !== "desc") {
      throw new TagPolicyError(
        `direction must be asc or desc, not ${JSON.stringify(direction.slice(0, 40))}`,
      );
    }
    policy.direction = direction;
  }
  for (const key of ["helm", "includeReferrerTags"] as const) {
    const value = get(key);
    if (value === undefined) continue;
    if (value === "true" || value === "1") policy[key] = true;
    else if (value === "false" || value === "0") policy[key] = false;
    else throw new TagPolicyError(`${key} must be true or false, not ${JSON.stringify(value.slice(0, 40))}`);
  }
  validatePolicy(policy);
  return policy;
}

/** The query parameters for a policy, in a fixed order (parsePolicyQuery reads them back). */
export function policyToQuery(policy: TagPolicy): Record<string, string> {
  const query: Record<string, string> = {};
  const keys = ["semver", "semverFilter", "order", "direction", "filter", "extract"] as const;
  for (const key of keys) {
    const value = policy[key];
    if (value !== undefined) query[key] = value;
  }
  if (policy.helm !== undefined) query.helm = String(policy.helm);
  if (policy.includeReferrerTags !== undefined)
    query.includeReferrerTags = String(policy.includeReferrerTags);
  return query;
}
