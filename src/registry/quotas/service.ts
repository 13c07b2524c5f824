import { compileGlob, type Matcher } from "../../auth/glob.js";
import type { Db } from "../../metadata/database.js";
import { bumpLifecycleGeneration } from "../../metadata/change-counters.js";
import {
  addQuotaObjects,
  countHoldings,
  countQuotas,
  deleteQuota,
  findQuota,
  insertQuota,
  listQuotas,
  lockHoldings,
  lockQuota,
  quotaNamespaces,
  removeQuotaObjects,
  repositoryNames,
  setQuotaLimit,
  setQuotaUsed,
  sumQuotaObjects,
  type QuotaRow,
  type Tally,
} from "../../metadata/quotas.js";
import { now } from "../../metadata/time.js";
import { RegistryError } from "../../oci/errors.js";
import type { QuotaDto } from "../../api/quotas.js";
import { quote, repositoryGlobProblem, ruleNameProblem } from "../rule-patterns.js";
import { humanBytes, parseByteSize } from "../../api/byte-sizes.js";
import { globPrefix } from "./prefix.js";

/** A digest newly held in a repository (a link, or a manifest row), with its size. */
export interface HeldObject {
  digest: string;
  size: number;
}

export const MAX_QUOTAS = 200;
/** Repositories counted per statement when a quota is added. */
const COUNT_PAGE = 500;
const DEADLOCK_RETRIES = 3;

export class QuotaError extends Error {
  constructor(
    readonly kind: "invalid" | "not_found" | "conflict",
    message: string,
  ) {
    super(message);
  }
}

/** A write refused because a quota would be exceeded: 403 DENIED, the whole write rolled back. */
export class QuotaExceededError extends RegistryError {
  constructor(quota: { name: string; repositories: string }, used: number, limit: number, adding: number) {
    super(
      "DENIED",
      `quota ${quota.name} exceeded: ${quota.repositories} would use ${humanBytes(used)} (${used} bytes) ` +
        `of ${humanBytes(limit)} (${limit} bytes) allowed`,
      { quota: quota.name, namespace: quota.repositories, used, limit, adding },
    );
  }
}

/**
 * Byte quotas per repository glob (a namespace such as `team-a/**`), each digest counted once within
 * the namespace, exactly, in the transaction of every change to what a repository holds.
 *
 * Why it stays exact under concurrency:
 * - Every write that creates or removes a link or a manifest row calls added/removed in its own
 *   transaction, after the row's statement, and only for rows it really inserted or deleted (so two
 *   pushes of one blob count it once: the second's insert does nothing).
 * - added/removed lock each matching quota's row (in name order, so two writes never wait on each other
 *   in a cycle) before touching its objects: all changes to one quota's counts are serialised, and the
 *   limit check sees every committed growth. Going over throws, which rolls the write back whole.
 * - The quotas are read inside the transaction, after the row was written. `add` takes a SHARE lock on
 *   links and manifests (PostgreSQL; SQLite has one writer) before counting: a write whose row went in
 *   first has committed before the count reads (it read the quotas before the new one existed, and the
 *   count includes its row); a write whose row comes after waits for the add to commit, and then its
 *   read of the quotas (a new statement: READ COMMITTED) sees the new quota and counts itself.
 * - `rm` deletes the quota's row first: a write holding it finishes first; one after finds it gone.
 * Nothing is cached but compiled globs (a function of the pattern alone), so there is nothing for the
 * `lifecycle` counter to invalidate; it is bumped anyway, and its row lock serialises quota changes.
 */
export class QuotaService {
  private readonly matchers = new Map<string, Matcher>();

  constructor(private readonly db: Db) {}

  /** Call in the transaction that created these links or manifest rows (only newly created ones). */
  async added(trx: Db, repository: string, objects: readonly HeldObject[]): Promise<void> {
    if (objects.length === 0) return;
    const tallies = tally(objects);
    for (const quota of await this.matching(trx, repository)) {
      const row = await lockQuota(trx, quota.name);
      if (!row) continue;
      const grown = await addQuotaObjects(trx, quota.name, tallies);
      if (grown === 0) continue;
      const used = row.used + grown;
      if (used > row.limit) throw new QuotaExceededError(quota, used, row.limit, grown);
      await setQuotaUsed(trx, quota.name, used);
    }
  }

  /** Call in the transaction that removed these links or manifest rows (only ones that existed). */
  async removed(trx: Db, repository: string, digests: readonly string[]): Promise<void> {
    await this.removedHoldings(
      trx,
      digests.map((digest) => ({ repository, digest })),
    );
  }

  /**
   * removed() for holdings of several repositories at once (a sweep deleting links or manifests across
   * repositories in one transaction): every quota involved is locked in name order before any is
   * changed, where one removed() call per repository could lock two quotas in either order.
   */
  async removedHoldings(trx: Db, holdings: readonly { repository: string; digest: string }[]): Promise<void> {
    if (holdings.length === 0) return;
    const quotas = await quotaNamespaces(trx);
    const byQuota = new Map<string, HeldObject[]>();
    for (const holding of holdings) {
      for (const quota of quotas) {
        if (!this.matches(quota.repositories, holding.repository)) continue;
        // The size is the quota's own record of the digest; only the counts matter here.
        const objects = byQuota.get(quota.name) ?? [];
        objects.push({ digest: holding.digest, size: 0 });
        byQuota.set(quota.name, objects);
      }
    }
    // In name order, as added() locks them: two writes never wait on each other in a cycle.
    for (const name of [...byQuota.keys()].sort()) {
      const row = await lockQuota(trx, name);
      if (!row) continue;
      const freed = await removeQuotaObjects(trx, name, tally(byQuota.get(name) ?? []));
      if (freed > 0) await setQuotaUsed(trx, name, row.used - freed);
    }
  }

  async list(): Promise<QuotaDto[]> {
    return (await listQuotas(this.db)).map(dto);
  }

  /**
   * Adds a quota, its usage counted from what the namespace holds now. Adding one that exists with the
   * same namespace sets its limit (a limit below the usage refuses growth and removes nothing).
   * Returns the quota and whether it was created.
   */
  async add(
    input: { name: string; repositories: string; limit: unknown },
    createdBy: string,
  ): Promise<{ quota: QuotaDto; created: boolean; previousLimit?: number }> {
    const { name, repositories } = input;
    const problem = ruleNameProblem(name, "quota") ?? repositoryGlobProblem(repositories);
    if (problem) throw new QuotaError("invalid", problem);
    const limit = parseByteSize(input.limit);
    if (limit === undefined) {
      throw new QuotaError(
        "invalid",
        `invalid limit ${quote(String(input.limit))}: a number of bytes, or a size such as 10GiB or 500MB`,
      );
    }
    return retryDeadlocks(() =>
      this.db.transaction().execute(async (trx) => {
        await lockHoldings(trx);
        // First write: on PostgreSQL its row lock serialises quota changes, so the count below is exact.
        await bumpLifecycleGeneration(trx);
        const existing = await findQuota(trx, name);
        if (existing) {
          if (existing.repositories !== repositories) {
            throw new QuotaError(
              "conflict",
              `quota ${name} exists on ${existing.repositories}; remove it first to change its namespace`,
            );
          }
          await setQuotaLimit(trx, name, limit);
          return {
            quota: dto({ ...existing, limitBytes: limit }),
            created: false,
            previousLimit: existing.limitBytes,
          };
        }
        if ((await countQuotas(trx)) >= MAX_QUOTAS) {
          throw new QuotaError("conflict", `there are already ${MAX_QUOTAS} quotas; remove one first`);
        }
        const row = { name, repositories, limitBytes: limit, createdBy, createdAt: now() };
        await insertQuota(trx, row);
        await this.countNamespace(trx, name, repositories);
        const used = await sumQuotaObjects(trx, name);
        await setQuotaUsed(trx, name, used);
        return { quota: dto({ ...row, usedBytes: used }), created: true };
      }),
    );
  }

  async remove(name: string): Promise<QuotaDto> {
    const removed = await this.db.transaction().execute(async (trx) => {
      await bumpLifecycleGeneration(trx);
      return deleteQuota(trx, name);
    });
    if (!removed) throw new QuotaError("not_found", `no quota named ${quote(name)}`);
    return dto(removed);
  }

  /** Whether `repository` is in the namespace `pattern` (a validated glob). */
  matches(pattern: string, repository: string): boolean {
    let matcher = this.matchers.get(pattern);
    if (!matcher) {
      matcher = compileGlob(pattern);
      // Bounded: patterns come from at most MAX_QUOTAS rows, and ones removed are few.
      if (this.matchers.size >= 4 * MAX_QUOTAS) this.matchers.clear();
      this.matchers.set(pattern, matcher);
    }
    return matcher(repository);
  }

  private async matching(trx: Db, repository: string) {
    return (await quotaNamespaces(trx)).filter((q) => this.matches(q.repositories, repository));
  }

  /** Counts every link and manifest row of the namespace's repositories into the quota's objects. */
  private async countNamespace(trx: Db, quota: string, pattern: string): Promise<void> {
    const prefix = globPrefix(pattern);
    let after: string | undefined;
    for (;;) {
      const page = await repositoryNames(trx, prefix, after, COUNT_PAGE);
      if (page.length === 0) return;
      after = page.at(-1);
      await countHoldings(
        trx,
        quota,
        page.filter((repository) => this.matches(pattern, repository)),
      );
    }
  }
}

function tally(objects: readonly HeldObject[]): Tally[] {
  const byDigest = new Map<string, Tally>();
  for (const o of objects) {
    const known = byDigest.get(o.digest);
    if (known) known.count++;
    else byDigest.set(o.digest, { digest: o.digest, size: o.size, count: 1 });
  }
  return [...byDigest.values()];
}

function dto(row: QuotaRow): QuotaDto {
  return {
    name: row.name,
    repositories: row.repositories,
    limit: row.limitBytes,
    used: row.usedBytes,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
  };
}

/** PostgreSQL aborts one of two transactions waiting on each other (40P01); the add is safe to redo. */
async function retryDeadlocks<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (code !== "40P01" || attempt >= DEADLOCK_RETRIES) throw err;
    }
  }
}
