import type { Logger } from "pino";
import type { Db } from "../../metadata/database.js";
import { listRepositories } from "../../metadata/repositories.js";
import { signaturesOver } from "../../metadata/signatures.js";
import { now } from "../../metadata/time.js";
import {
  countRetentionPolicies,
  deleteRetentionPolicy,
  findRetentionPolicy,
  insertRetentionPolicy,
  listRetentionPolicies,
  retentionTags,
  type RetentionPolicyRow,
} from "../../metadata/retention-policies.js";
import { isReferrerTag } from "../../oci/tag-policy/index.js";
import { INDEX_TAG } from "../../oci/index-artifact/format.js";
import { AuditLog } from "../audit.js";
import { ImmutableTagError, type ImmutableTags } from "../immutable/service.js";
import type { ManifestService } from "../manifests.js";
import { evaluate, type TagDecision, type TagFacts } from "./evaluate.js";
import {
  compilePolicy,
  MAX_RETENTION_POLICIES,
  RetentionError,
  validatePolicy,
  type CompiledPolicy,
  type RetentionPolicy,
} from "./rules.js";

const PAGE = 1000;
/** Tags of one repository judged at once: a repository with more is reported, not judged. */
export const MAX_TAGS_PER_REPOSITORY = 100_000;
/** Decisions a preview or apply answers with at most (the counts are always whole). */
export const MAX_REPORTED_DECISIONS = 10_000;
/** Removals named in an apply's audit event at most. */
const MAX_AUDITED_REMOVALS = 100;
/** Entries of a plan given to apply at most. */
export const MAX_PLAN_ENTRIES = MAX_REPORTED_DECISIONS;

export interface RepositoryDecisions {
  repository: string;
  /** The policies that apply to it, in name order. */
  policies: string[];
  decisions: TagDecision[];
  /** Set when the repository was not judged (too many tags). */
  skipped?: string;
}

export interface RetentionPreview {
  repositories: RepositoryDecisions[];
  remove: number;
  keep: number;
  /** Decisions were left out of `repositories` to bound the answer (the counts include them). */
  truncated: boolean;
}

export interface RemovedTag {
  repository: string;
  tag: string;
  digest: string;
  reason: string;
}

export interface LeftTag {
  repository: string;
  tag: string;
  digest: string;
  /** Why a tag judged removable was not removed: it moved or went meanwhile, or became immutable. */
  why: "moved" | "gone" | "immutable" | "not in plan";
}

export interface RetentionResult {
  removed: RemovedTag[];
  left: LeftTag[];
  /** Removals done (removed may be cut to MAX_REPORTED_DECISIONS). */
  removedCount: number;
  kept: number;
  truncated: boolean;
}

/** A tag a preview said would go: apply given a plan removes only these (if still judged removable). */
export interface PlannedRemoval {
  repository: string;
  tag: string;
  digest: string;
}

/** A policy as a client gives it (checked by validatePolicy). */
export type PolicyInput = { name: unknown; repositories: unknown; rules: unknown };

/** Which policies to judge by: all stored ones, one by name, or one not stored (a preview's). */
export type PolicySelection = { name?: string; policy?: PolicyInput };

/**
 * Retention policies: stored per repository glob, judged by `evaluate` (pure), applied by removing
 * tags through the tag delete path (ManifestService.untagIf), never manifests or bytes: a manifest a
 * removed tag named stays until garbage collection (gc.untagged) takes it. Policies are read from the
 * database on every preview and apply (rare calls), so no cache has to follow other nodes' changes.
 */
export class RetentionService {
  private readonly audit: AuditLog;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly deps: {
      immutable: ImmutableTags;
      manifests: ManifestService;
      /** Whether the server manages the repository's index artifact (its INDEX_TAG is the server's). */
      managesIndex: (repository: string) => boolean;
    },
  ) {
    this.audit = new AuditLog(db, log);
  }

  async list(): Promise<RetentionPolicy[]> {
    return (await listRetentionPolicies(this.db)).map(policyOf);
  }

  async add(
    input: { name: unknown; repositories: unknown; rules: unknown },
    createdBy: string,
  ): Promise<RetentionPolicy> {
    const checked = validatePolicy(input);
    const row: RetentionPolicyRow = {
      name: checked.name,
      repositories: checked.repositories,
      rules: JSON.stringify(checked.rules),
      created_by: createdBy,
      created_at: now(),
    };
    await this.db.transaction().execute(async (trx) => {
      if ((await countRetentionPolicies(trx)) >= MAX_RETENTION_POLICIES) {
        throw new RetentionError(
          "conflict",
          `there are already ${MAX_RETENTION_POLICIES} policies; remove one first`,
        );
      }
      if (!(await insertRetentionPolicy(trx, row))) {
        throw new RetentionError("conflict", `a retention policy named ${row.name} exists already`);
      }
    });
    return policyOf(row);
  }

  async remove(name: string): Promise<RetentionPolicy> {
    const removed = await deleteRetentionPolicy(this.db, name);
    if (!removed) throw new RetentionError("not_found", `no retention policy named ${name.slice(0, 100)}`);
    return policyOf(removed);
  }

  /** What applying the selected policies now would remove and keep, and why. Changes nothing. */
  async preview(selection: PolicySelection = {}): Promise<RetentionPreview> {
    const policies = await this.select(selection);
    const preview: RetentionPreview = { repositories: [], remove: 0, keep: 0, truncated: false };
    let reported = 0;
    await this.judge(policies, async (judged) => {
      for (const d of judged.decisions) preview[d.decision]++;
      const room = Math.max(0, MAX_REPORTED_DECISIONS - reported);
      if (judged.decisions.length > room) preview.truncated = true;
      // Past the bound only the counts grow: no entry for every further repository either.
      if (room === 0) return;
      const decisions = judged.decisions.slice(0, room);
      reported += decisions.length;
      preview.repositories.push({ ...judged, decisions });
    });
    return preview;
  }

  /**
   * Applies the selected stored policies now: every tag judged removable is removed unless it moved
   * (or went, or became immutable) since it was judged. With `plan` (a preview's removals), only tags
   * in it are removed, so what goes is exactly what was previewed or less.
   */
  async apply(selection: { name?: string; plan?: PlannedRemoval[] } = {}): Promise<RetentionResult> {
    if (selection.plan && selection.plan.length > MAX_PLAN_ENTRIES) {
      throw new RetentionError("invalid", `a plan lists at most ${MAX_PLAN_ENTRIES} tags`);
    }
    const planned = selection.plan && new Set(selection.plan.map(planKey));
    const policies = await this.select(selection.name === undefined ? {} : { name: selection.name });
    const result: RetentionResult = { removed: [], left: [], removedCount: 0, kept: 0, truncated: false };
    const report = <T>(list: T[], item: T) => {
      if (list.length < MAX_REPORTED_DECISIONS) list.push(item);
      else result.truncated = true;
    };
    await this.judge(policies, async ({ repository, decisions }) => {
      for (const d of decisions) {
        if (d.decision === "keep") {
          result.kept++;
          continue;
        }
        const target = { repository, tag: d.tag, digest: d.digest };
        if (planned && !planned.has(planKey(target))) {
          report(result.left, { ...target, why: "not in plan" });
          continue;
        }
        const outcome = await this.removeTag(repository, d);
        if (outcome === "removed") {
          result.removedCount++;
          report(result.removed, { ...target, reason: d.reason });
        } else {
          report(result.left, { ...target, why: outcome });
        }
      }
    });
    return result;
  }

  /** Applies every policy (the scheduled run, before each scheduled collection); audited. */
  async applyAll(actor: string): Promise<void> {
    try {
      // Audited on every run that has policies to apply, removing something or not: the log says it ran.
      if ((await countRetentionPolicies(this.db)) === 0) return;
      const result = await this.apply();
      await this.audit.record({
        actor,
        client: "server",
        action: "retention.apply",
        target: "*",
        detail: auditDetail(result),
      });
      this.log.info({ removed: result.removedCount, left: result.left.length }, "retention policies applied");
    } catch (err) {
      this.log.error({ err }, "applying retention policies failed");
    }
  }

  private async removeTag(
    repository: string,
    d: TagDecision,
  ): Promise<"removed" | "moved" | "gone" | "immutable"> {
    try {
      return await this.deps.manifests.untagIf(repository, d.tag, d.digest);
    } catch (err) {
      // A rule made since the evaluation: the tag delete path refused, as it must.
      if (err instanceof ImmutableTagError) return "immutable";
      throw err;
    }
  }

  private async select(selection: PolicySelection): Promise<CompiledPolicy[]> {
    if (selection.policy) return [compilePolicy(validatePolicy(selection.policy))];
    if (selection.name !== undefined) {
      const row = await findRetentionPolicy(this.db, selection.name);
      if (!row)
        throw new RetentionError("not_found", `no retention policy named ${selection.name.slice(0, 100)}`);
      return [compilePolicy(policyOf(row))];
    }
    return (await this.list()).map(compilePolicy);
  }

  /** Judges each repository some policy applies to, in name order, one at a time. */
  private async judge(
    policies: CompiledPolicy[],
    each: (judged: RepositoryDecisions) => Promise<void>,
  ): Promise<void> {
    if (policies.length === 0) return;
    let last: string | undefined;
    for (;;) {
      const names = await listRepositories(this.db, last, PAGE);
      for (const repository of names) {
        const applying = policies.filter((p) => p.appliesTo(repository));
        if (applying.length === 0) continue;
        const judged: RepositoryDecisions = {
          repository,
          policies: applying.map((p) => p.policy.name),
          decisions: [],
        };
        const facts = await this.facts(repository);
        if (facts === undefined) judged.skipped = `more than ${MAX_TAGS_PER_REPOSITORY} tags: not judged`;
        else judged.decisions = evaluate(applying, facts, Date.now());
        await each(judged);
      }
      if (names.length < PAGE) return;
      last = names.at(-1);
    }
  }

  /** Every tag of the repository with what it is judged by, or undefined when there are too many. */
  private async facts(repository: string): Promise<TagFacts[] | undefined> {
    const rows = [];
    let last: string | undefined;
    for (;;) {
      const page = await retentionTags(this.db, repository, last, PAGE);
      rows.push(...page);
      if (rows.length > MAX_TAGS_PER_REPOSITORY) return undefined;
      if (page.length < PAGE) break;
      last = page.at(-1)?.name;
    }
    const signed = await signaturesOver(this.db, repository, [...new Set(rows.map((r) => r.digest))], 1);
    const managed = this.deps.managesIndex(repository);
    const facts: TagFacts[] = [];
    for (const r of rows) {
      facts.push({
        tag: r.name,
        digest: r.digest,
        pushed: r.updated_at,
        lastPulled: r.last_pulled_at,
        immutable: (await this.deps.immutable.ruleFor(this.db, repository, r.name))?.name,
        signed: (signed.get(r.digest)?.length ?? 0) > 0,
        reserved: reservedTag(r.name, managed),
      });
    }
    return facts;
  }
}

/** Tags that belong to a mechanism rather than to a release: never retention's to remove. */
function reservedTag(tag: string, managedIndex: boolean): string | undefined {
  if (isReferrerTag(tag)) return "a referrers or signature tag (sha256-…, .sig, .att, .sbom): never removed";
  if (managedIndex && tag === INDEX_TAG) return "the managed index tag: never removed";
  return undefined;
}

/** What an audit event of an apply records: the counts, and the first removals. */
export function auditDetail(result: RetentionResult, policy?: string): Record<string, unknown> {
  return {
    ...(policy === undefined ? {} : { policy }),
    removedCount: result.removedCount,
    removed: result.removed.slice(0, MAX_AUDITED_REMOVALS).map((r) => `${r.repository}:${r.tag}@${r.digest}`),
    left: result.left.length,
  };
}

function planKey(p: PlannedRemoval): string {
  return `${p.repository}\n${p.tag}\n${p.digest}`;
}

function policyOf(row: RetentionPolicyRow): RetentionPolicy {
  return {
    name: row.name,
    repositories: row.repositories,
    rules: JSON.parse(row.rules) as RetentionPolicy["rules"],
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}
