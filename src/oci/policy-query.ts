import { TagPolicyError, type TagPolicy } from "./tag-policy/index.js";

// LOCAL STAND-INS for the tag-policy work's parsePolicyQuery/policyToQuery/describePolicy (same names and
// query parameter names): swapped for its exports from ./tag-policy/index.js when both land.

/** A policy with the Helm chart option the tag-policy work adds (`_` in a tag stands for `+`). */
export type QueryPolicy = TagPolicy & { helm?: boolean };

/** No parameter is longer than this: a range or regex longer than a tag list page is not a policy. */
const MAX_PARAMETER = 1024;

const TEXT_KEYS = ["semver", "semverFilter", "filter", "extract"] as const;
const FLAG_KEYS = ["helm", "includeReferrerTags"] as const;

/**
 * A policy from URL query parameters (`semver`, `semverFilter`, `order`, `direction`, `filter`, `extract`,
 * `helm`, `includeReferrerTags`); anything out of shape is a TagPolicyError naming the parameter.
 */
export function parsePolicyQuery(params: Record<string, string | undefined>): QueryPolicy {
  const policy: QueryPolicy = {};
  for (const key of [...TEXT_KEYS, "order", "direction", ...FLAG_KEYS]) {
    const value = params[key];
    if (value !== undefined && value.length > MAX_PARAMETER) {
      throw new TagPolicyError(`${key} must be at most ${MAX_PARAMETER} characters`);
    }
  }
  for (const key of TEXT_KEYS) {
    const value = params[key];
    if (value !== undefined && value !== "") policy[key] = value;
  }
  const order = params.order;
  if (order !== undefined && order !== "") {
    if (order !== "numerical" && order !== "alphabetical") {
      throw new TagPolicyError(`order must be numerical or alphabetical, not ${JSON.stringify(order)}`);
    }
    policy.order = order;
  }
  const direction = params.direction;
  if (direction !== undefined && direction !== "") {
    if (direction !== "asc" && direction !== "desc") {
      throw new TagPolicyError(`direction must be asc or desc, not ${JSON.stringify(direction)}`);
    }
    policy.direction = direction;
  }
  for (const key of FLAG_KEYS) {
    const value = params[key];
    if (value === undefined || value === "") continue;
    if (value !== "true" && value !== "false") {
      throw new TagPolicyError(`${key} must be true or false, not ${JSON.stringify(value)}`);
    }
    if (value === "true") policy[key] = true;
  }
  return policy;
}

/** The query parameters parsePolicyQuery reads back as `policy`. */
export function policyToQuery(policy: QueryPolicy): Record<string, string> {
  const query: Record<string, string> = {};
  for (const key of TEXT_KEYS) {
    const value = policy[key];
    if (value !== undefined) query[key] = value;
  }
  if (policy.order) query.order = policy.order;
  if (policy.direction) query.direction = policy.direction;
  for (const key of FLAG_KEYS) if (policy[key]) query[key] = "true";
  return query;
}

/** One line for messages: `semver ^1.2 (filter .*-rc.*)`. */
export function describePolicy(policy: QueryPolicy): string {
  const main = policy.order
    ? `${policy.order} ${policy.direction ?? "asc"}`
    : `semver ${policy.semver ?? "*"}${policy.semverFilter ? ` matching ${policy.semverFilter}` : ""}`;
  const filter = policy.filter
    ? ` (filter ${policy.filter}${policy.extract ? ` extract ${policy.extract}` : ""})`
    : "";
  return `${main}${filter}`;
}
