import { Option, type Command } from "commander";
import { UsageError } from "../../../client/errors.js";
import { formatReference, type Reference } from "../../../client/reference.js";
import { resolveTag, type ResolvedTag, type ResolveOptions } from "../../../client/resolve.js";
import {
  compileTagPolicy,
  TagPolicyError,
  policyToQuery,
  type TagPolicy,
} from "../../../oci/tag-policy/index.js";
import type { Context } from "./context.js";

/** The tag resolution flags, as commander hands them over. */
export interface PolicyOptions {
  semver?: string;
  semverFilter?: string;
  order?: "numerical" | "alphabetical";
  asc?: boolean;
  desc?: boolean;
  filter?: string;
  extract?: string;
  helm?: boolean;
  includeReferrerTags?: boolean;
  /** --kind chart (or helm-chart) turns on --helm (charts' `+` is `_` in tags). */
  kind?: string;
}

/**
 * Adds the policy flags Flux's OCIRepository (`--semver`, `--semver-filter`) and ImagePolicy (`--order`,
 * `--asc`/`--desc`, `--filter`, `--extract`) take, for `wharf resolve` and every command that takes a
 * reference (pull, info, cp, lock).
 */
export function withPolicyOptions(command: Command): Command {
  return command
    .option("--semver <range>", "pick the highest version in this semver range, e.g. '^1.2' (as Flux)")
    .option("--semver-filter <regex>", "with --semver: only tags matching this regex (OCIRepository's)")
    .addOption(
      new Option(
        "--order <order>",
        "pick by ImagePolicy's numerical or alphabetical order of the tag (or of --extract)",
      ).choices(["numerical", "alphabetical"]),
    )
    .option("--asc", "with --order: the largest wins (the default)")
    .option("--desc", "with --order: the smallest wins")
    .option("--filter <regex>", "only tags matching this regex (Go syntax, (?P<name>…) groups too)")
    .option("--extract <template>", "with --filter: compare this part of the match, e.g. '$ts' or '$1'")
    .option("--helm", "Helm chart tags: `_` in a tag stands for `+` (automatic with --kind chart)")
    .option("--include-referrer-tags", "also consider .sig, .att, .sbom and sha256-… tags");
}

/** Whether any policy flag was given. */
export function hasPolicy(options: PolicyOptions): boolean {
  return (
    options.semver !== undefined ||
    options.semverFilter !== undefined ||
    options.order !== undefined ||
    options.asc === true ||
    options.desc === true ||
    options.filter !== undefined ||
    options.extract !== undefined
  );
}

/**
 * The policy the flags describe, checked (a bad range or regex is a UsageError, exit 2); undefined when
 * none was given, or `fallback` then (`wharf resolve` without flags means `--semver '*'`).
 */
export function policyFromOptions(options: PolicyOptions, fallback?: TagPolicy): TagPolicy | undefined {
  if (!hasPolicy(options)) {
    if (!fallback && (options.helm || options.includeReferrerTags)) {
      // Alone they would be ignored and the reference's own tag (or latest) pulled: say so instead.
      const flag = options.helm ? "--helm" : "--include-referrer-tags";
      throw new UsageError(`${flag} changes how a policy reads tags: give one too (e.g. --semver '*')`);
    }
    return fallback && withFlags(fallback, options);
  }
  if (options.semver !== undefined && options.order !== undefined)
    throw new UsageError(
      "give --semver or --order, not both (Flux's semver and order policies exclude each other)",
    );
  if (options.semverFilter !== undefined && options.semver === undefined)
    throw new UsageError("--semver-filter narrows --semver: give a range too (e.g. --semver '*')");
  if (options.asc && options.desc) throw new UsageError("give --asc or --desc, not both");
  if ((options.asc || options.desc) && options.order === undefined)
    throw new UsageError("--asc and --desc go with --order numerical|alphabetical");
  if (options.extract !== undefined && options.filter === undefined)
    throw new UsageError("--extract takes its groups from --filter: give a --filter regex too");
  const policy: TagPolicy = {};
  if (options.semver !== undefined) policy.semver = options.semver;
  if (options.semverFilter !== undefined) policy.semverFilter = options.semverFilter;
  if (options.order !== undefined) policy.order = options.order;
  if (options.order !== undefined) policy.direction = options.desc ? "desc" : "asc";
  if (options.filter !== undefined) policy.filter = options.filter;
  if (options.extract !== undefined) policy.extract = options.extract;
  return withFlags(policy, options);
}

function withFlags(policy: TagPolicy, options: PolicyOptions): TagPolicy {
  const result: TagPolicy = { ...policy };
  const kind = options.kind?.trim().toLowerCase();
  if (options.helm || kind === "chart" || kind === "helm-chart") result.helm = true;
  if (options.includeReferrerTags) result.includeReferrerTags = true;
  checked(() => compileTagPolicy(result));
  return result;
}

/**
 * Resolves `ref` (a repository without tag or digest) by `policy`, offline from the cache's known tags;
 * a policy that cannot be applied to these tags (a numerical order over a word) is a UsageError too.
 */
export async function resolvePolicy(
  ctx: Context,
  ref: Reference,
  policy: TagPolicy,
  options: ResolveOptions = {},
): Promise<ResolvedTag> {
  return checked(() => resolveTag(ctx.client, ref, policy, { cache: ctx.cache(), ...options }));
}

/** `ref` pinned to what the policy chose: its tag and digest (the digest is what gets used). */
export function pinned(ref: Reference, resolved: ResolvedTag): Reference {
  return { ...ref, tag: resolved.tag, digest: resolved.digest };
}

/** `Chose 1.2.3 (of 4 matching tags)`: what a policy chose, for stderr. */
export function describeChoice(tag: string, candidates: number): string {
  return `Chose ${tag} (of ${candidates} matching tag${candidates === 1 ? "" : "s"})`;
}

/** What `--json` says about a resolution. */
export function resolutionJson(ref: Reference, resolved: ResolvedTag, policy: TagPolicy) {
  return {
    reference: formatReference(pinned(ref, resolved)),
    tag: resolved.tag,
    digest: resolved.digest,
    mediaType: resolved.mediaType,
    candidates: resolved.candidates,
    policy: policyToQuery(policy),
    via: resolved.via,
  };
}

function checked<T>(run: () => T): T {
  try {
    const result = run();
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        throw asUsage(err);
      }) as T;
    }
    return result;
  } catch (err) {
    throw asUsage(err);
  }
}

function asUsage(err: unknown): unknown {
  return err instanceof TagPolicyError ? new UsageError(err.message, { cause: err }) : err;
}
