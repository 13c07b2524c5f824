import type { Db } from "../../metadata/database.js";
import { RegistryError } from "../../oci/errors.js";
import { bumpImmutableGeneration, immutableGeneration } from "../../metadata/change-counters.js";
import {
  countImmutableRules,
  deleteImmutableRule,
  insertImmutableRule,
  listImmutableRules,
  type ImmutableRuleRow,
} from "../../metadata/immutable-rules.js";
import { createTagOnce, lockedTagDigest, setTag, tagsOf } from "../../metadata/tags.js";
import { now } from "../../metadata/time.js";
import { ancestorTags, type AncestorTag } from "../../metadata/ancestor-tags.js";
import {
  compileRule,
  ImmutableRuleError,
  MAX_IMMUTABLE_RULES,
  validateRule,
  type CompiledRule,
  type ImmutableRule,
  type NewImmutableRule,
  type TagPatternKind,
} from "./rules.js";

/** How often the rules' change counter is read: a rule changed on any node is enforced within this. */
const CHANGE_POLL_MS = 250;
/** Without the poller (a registry not started), cached rules are reused this long at most. */
const UNWATCHED_CACHE_MS = 1000;
const TAG_PAGE = 1000;

/** A refused move or removal of an immutable tag: 403 DENIED, which every client prints once as is. */
export class ImmutableTagError extends RegistryError {
  constructor(
    message: string,
    readonly refusal: {
      tag: string;
      rule: string;
      repository: string;
      digest: string;
      pushed?: string;
      /** The manifest the immutable tag is on, when that is an index or manifest above `digest`. */
      partOf?: string;
    },
  ) {
    super("DENIED", message, refusal);
  }
}

/**
 * Immutable tags: the rules, and the checks every path that moves or removes a tag goes through,
 * inside that write's transaction (so two nodes cannot both create one immutable tag differently).
 * Rules are cached per process and dropped when the database's change counter moves (polled off the
 * request path), so a warm check costs no query for the rules.
 */
export class ImmutableTags {
  private cache: { rules: CompiledRule[]; until: number } | undefined;
  private generation: number | undefined;
  private watcher: NodeJS.Timeout | undefined;
  /** Bumped on every invalidation: rules loaded across one are used but not cached (they may be stale). */
  private epoch = 0;

  constructor(private readonly db: Db) {}

  async start(): Promise<void> {
    this.generation = await immutableGeneration(this.db);
    this.watcher = setInterval(() => void this.poll(), CHANGE_POLL_MS);
    this.watcher.unref();
  }

  stop(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }

  private async poll(): Promise<void> {
    try {
      const generation = await immutableGeneration(this.db);
      if (generation === this.generation) return;
      this.generation = generation;
    } catch {
      // Unknown whether rules changed: reload them on the next check.
    }
    this.invalidate();
  }

  private invalidate(): void {
    this.epoch++;
    this.cache = undefined;
  }

  /** The compiled rules, read through `conn` (the caller's transaction) when the cache is cold. */
  private async compiled(conn: Db): Promise<CompiledRule[]> {
    if (this.cache && Date.now() < this.cache.until) return this.cache.rules;
    const epoch = this.epoch;
    const rules = (await listImmutableRules(conn)).map((row) => compileRule(ruleOf(row)));
    if (epoch !== this.epoch) return rules;
    this.cache = { rules, until: this.watcher ? Infinity : Date.now() + UNWATCHED_CACHE_MS };
    return rules;
  }

  /** The first rule (oldest) making `tag` in `repository` immutable, if any. */
  async ruleFor(conn: Db, repository: string, tag: string): Promise<ImmutableRule | undefined> {
    return (await this.compiled(conn)).find((r) => r.matches(repository, tag))?.rule;
  }

  /**
   * Points a tag at a manifest, unless the tag is immutable and points elsewhere already (the same
   * digest again is fine: CI retries are idempotent). Call it inside the write's transaction.
   */
  async setTag(trx: Db, repository: string, tag: string, digest: string): Promise<void> {
    const rule = await this.ruleFor(trx, repository, tag);
    if (!rule) return setTag(trx, repository, tag, digest);
    const current = await createTagOnce(trx, repository, tag, digest);
    if (current === digest) return;
    throw new ImmutableTagError(
      `tag ${tag} is immutable (rule '${rule.name}' on '${rule.repositories}'); push a new version instead`,
      { tag, rule: rule.name, repository, digest: current, pushed: digest },
    );
  }

  /** Refuses to remove an existing immutable tag (a missing one is left to the caller's 404). */
  async requireTagRemovable(trx: Db, repository: string, tag: string): Promise<void> {
    const rule = await this.ruleFor(trx, repository, tag);
    if (!rule) return;
    const digest = await lockedTagDigest(trx, repository, tag);
    if (digest === undefined) return;
    throw new ImmutableTagError(
      `tag ${tag} is immutable (rule '${rule.name}' on '${rule.repositories}'); it cannot be deleted`,
      { tag, rule: rule.name, repository, digest },
    );
  }

  /**
   * Refuses to delete a manifest while an immutable tag points at it (deleting it would remove the tag).
   * An early look, for a refusal before any write; checkRemovedTags is the check that holds under races.
   */
  async requireManifestRemovable(trx: Db, repository: string, digest: string): Promise<void> {
    if ((await this.compiled(trx)).length === 0) return;
    let last: string | undefined;
    for (;;) {
      const tags = await tagsOf(trx, repository, digest, last, TAG_PAGE);
      await this.checkRemovedTags(trx, repository, digest, tags);
      if (tags.length < TAG_PAGE) return;
      last = tags.at(-1);
    }
  }

  /**
   * Throws if any of `tags`, which a manifest delete removed from `digest` inside `trx`, is immutable:
   * the delete rolls back. What the delete itself removed, so a tag committed by another node since
   * requireManifestRemovable looked is checked too.
   */
  async checkRemovedTags(trx: Db, repository: string, digest: string, tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    const rules = await this.compiled(trx);
    for (const tag of tags) {
      const rule = rules.find((r) => r.matches(repository, tag))?.rule;
      if (!rule) continue;
      throw new ImmutableTagError(
        `manifest ${digest} is tagged ${tag}, which is immutable (rule '${rule.name}' on ` +
          `'${rule.repositories}'); it cannot be deleted`,
        { tag, rule: rule.name, repository, digest },
      );
    }
  }

  /**
   * Refuses to delete a blob or manifest that a manifest carrying an immutable tag references, directly
   * or through indexes (see ancestorTags): deleting it would change what that tag serves, e.g. drop a
   * platform from a multi-platform v1.0.0.
   */
  async requireNotPartOfImmutable(
    trx: Db,
    repository: string,
    digest: string,
    kind: "blob" | "manifest",
  ): Promise<void> {
    const rules = await this.compiled(trx);
    if (rules.length === 0) return;
    let last: AncestorTag | undefined;
    for (;;) {
      const tags = await ancestorTags(trx, repository, digest, last, TAG_PAGE);
      for (const tag of tags) {
        const rule = rules.find((r) => r.matches(repository, tag.name))?.rule;
        if (!rule) continue;
        throw new ImmutableTagError(
          `${kind} ${digest} is part of ${tag.name}, which is immutable (rule '${rule.name}' on ` +
            `'${rule.repositories}'); it cannot be deleted`,
          { tag: tag.name, rule: rule.name, repository, digest, partOf: tag.digest },
        );
      }
      if (tags.length < TAG_PAGE) return;
      last = tags.at(-1);
    }
  }

  async list(): Promise<ImmutableRule[]> {
    return (await listImmutableRules(this.db)).map(ruleOf);
  }

  async add(input: NewImmutableRule, createdBy: string): Promise<ImmutableRule> {
    const checked = validateRule(input);
    const row: ImmutableRuleRow = {
      name: checked.name,
      repositories: checked.repositories,
      tags: checked.tags,
      kind: checked.kind,
      created_by: createdBy,
      created_at: now(),
    };
    await this.db.transaction().execute(async (trx) => {
      // First: on PostgreSQL its row lock serialises rule changes, so the count below is exact.
      await bumpImmutableGeneration(trx);
      if ((await countImmutableRules(trx)) >= MAX_IMMUTABLE_RULES) {
        throw new ImmutableRuleError(
          "conflict",
          `there are already ${MAX_IMMUTABLE_RULES} rules; remove one first`,
        );
      }
      if (!(await insertImmutableRule(trx, row))) {
        throw new ImmutableRuleError("conflict", `a rule named ${row.name} exists already`);
      }
    });
    this.invalidate();
    return ruleOf(row);
  }

  /** Returns the removed rule. */
  async remove(name: string): Promise<ImmutableRule> {
    const removed = await this.db.transaction().execute(async (trx) => {
      await bumpImmutableGeneration(trx);
      return deleteImmutableRule(trx, name);
    });
    if (!removed)
      throw new ImmutableRuleError("not_found", `no immutable-tag rule named ${name.slice(0, 100)}`);
    this.invalidate();
    return ruleOf(removed);
  }
}

function ruleOf(row: ImmutableRuleRow): ImmutableRule {
  return {
    name: row.name,
    repositories: row.repositories,
    tags: row.tags,
    kind: row.kind as TagPatternKind,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}
