import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import { dialectOf } from "./database.js";
import { MAX_BATCH } from "./batches.js";

type Conn = Kysely<Database>;

/**
 * Byte quotas (see src/registry/quotas/). `quota_objects` holds, per quota, each digest its namespace
 * holds with how many links and manifest rows hold it (`refs`); a row goes when its refs reach 0, so
 * `used_bytes` is the sum of the sizes of the quota's rows. Every statement that changes a quota's
 * objects runs after lockQuota in the same transaction: the quota's row serialises them.
 */

export interface QuotaRow {
  name: string;
  repositories: string;
  limitBytes: number;
  usedBytes: number;
  createdBy: string;
  createdAt: string;
}

/** A digest and how many holders (links, manifest rows) were added or removed. */
export interface Tally {
  digest: string;
  size: number;
  count: number;
}

export async function listQuotas(db: Conn): Promise<QuotaRow[]> {
  const rows = await db.selectFrom("quotas").selectAll().orderBy("name").execute();
  return rows.map((r) => ({
    name: r.name,
    repositories: r.repositories,
    limitBytes: Number(r.limit_bytes),
    usedBytes: Number(r.used_bytes),
    createdBy: r.created_by,
    createdAt: r.created_at,
  }));
}

export async function findQuota(db: Conn, name: string): Promise<QuotaRow | undefined> {
  return (await listQuotasNamed(db, name))[0];
}

async function listQuotasNamed(db: Conn, name: string): Promise<QuotaRow[]> {
  const rows = await db.selectFrom("quotas").selectAll().where("name", "=", name).execute();
  return rows.map((r) => ({
    name: r.name,
    repositories: r.repositories,
    limitBytes: Number(r.limit_bytes),
    usedBytes: Number(r.used_bytes),
    createdBy: r.created_by,
    createdAt: r.created_at,
  }));
}

/** Names and globs only: what every link and manifest write reads, in its own transaction. */
export async function quotaNamespaces(db: Conn): Promise<{ name: string; repositories: string }[]> {
  return db.selectFrom("quotas").select(["name", "repositories"]).orderBy("name").execute();
}

export async function countQuotas(db: Conn): Promise<number> {
  const row = await db
    .selectFrom("quotas")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Locks the quota's row (a no-op update: a row lock on PostgreSQL, SQLite's writer lock is held
 * already) and returns its usage and limit; undefined when the quota was removed meanwhile.
 */
export async function lockQuota(
  db: Conn,
  name: string,
): Promise<{ used: number; limit: number } | undefined> {
  const row = await db
    .updateTable("quotas")
    .set({ used_bytes: sql<number>`used_bytes` })
    .where("name", "=", name)
    .returning(["used_bytes", "limit_bytes"])
    .executeTakeFirst();
  return row ? { used: Number(row.used_bytes), limit: Number(row.limit_bytes) } : undefined;
}

export async function setQuotaUsed(db: Conn, name: string, used: number): Promise<void> {
  await db.updateTable("quotas").set({ used_bytes: used }).where("name", "=", name).execute();
}

/** Counts new holders; returns the bytes of digests the quota did not count before (refs was 0). */
export async function addQuotaObjects(db: Conn, quota: string, tallies: readonly Tally[]): Promise<number> {
  let grown = 0;
  for (let i = 0; i < tallies.length; i += MAX_BATCH) {
    const batch = tallies.slice(i, i + MAX_BATCH);
    const rows = await db
      .insertInto("quota_objects")
      .values(batch.map((t) => ({ quota, digest: t.digest, size: t.size, refs: t.count })))
      .onConflict((oc) =>
        oc
          .columns(["quota", "digest"])
          .doUpdateSet({ refs: sql<number>`quota_objects.refs + excluded.refs` }),
      )
      .returning(["digest", "refs", "size"])
      .execute();
    const counts = new Map(batch.map((t) => [t.digest, t.count]));
    // Only a fresh row has exactly the holders just added.
    for (const row of rows) if (row.refs === counts.get(row.digest)) grown += Number(row.size);
  }
  return grown;
}

/** Uncounts holders; returns the bytes of digests no holder in the namespace has any more. */
export async function removeQuotaObjects(
  db: Conn,
  quota: string,
  tallies: readonly Tally[],
): Promise<number> {
  let freed = 0;
  const byCount = new Map<number, string[]>();
  for (const t of tallies) byCount.set(t.count, [...(byCount.get(t.count) ?? []), t.digest]);
  for (const [count, digests] of byCount) {
    for (let i = 0; i < digests.length; i += MAX_BATCH) {
      const batch = digests.slice(i, i + MAX_BATCH);
      await db
        .updateTable("quota_objects")
        .set({ refs: sql<number>`refs - ${count}` })
        .where("quota", "=", quota)
        .where("digest", "in", batch)
        .execute();
      const gone = await db
        .deleteFrom("quota_objects")
        .where("quota", "=", quota)
        .where("digest", "in", batch)
        .where("refs", "<=", 0)
        .returning("size")
        .execute();
      for (const row of gone) freed += Number(row.size);
    }
  }
  return freed;
}

export async function insertQuota(
  db: Conn,
  quota: { name: string; repositories: string; limitBytes: number; createdBy: string; createdAt: string },
): Promise<void> {
  await db
    .insertInto("quotas")
    .values({
      name: quota.name,
      repositories: quota.repositories,
      limit_bytes: quota.limitBytes,
      used_bytes: 0,
      created_by: quota.createdBy,
      created_at: quota.createdAt,
    })
    .execute();
}

export async function setQuotaLimit(db: Conn, name: string, limitBytes: number): Promise<void> {
  await db.updateTable("quotas").set({ limit_bytes: limitBytes }).where("name", "=", name).execute();
}

/** Removes the quota (its row first: that waits for any write holding it) and its objects. */
export async function deleteQuota(db: Conn, name: string): Promise<QuotaRow | undefined> {
  const found = await findQuota(db, name);
  if (!found) return undefined;
  await db.deleteFrom("quotas").where("name", "=", name).execute();
  await db.deleteFrom("quota_objects").where("quota", "=", name).execute();
  return found;
}

/**
 * PostgreSQL: keeps links and manifest rows from changing until the transaction ends (SHARE conflicts
 * with the ROW EXCLUSIVE every insert and delete takes), waiting for writes in flight to commit. Taken in
 * the order a manifest write takes them (it touches the links it relies on, then inserts its row): links,
 * then manifests, so the two never wait on each other in a cycle. SQLite's writer lock does this already.
 */
export async function lockHoldings(db: Conn): Promise<void> {
  if (dialectOf(db) !== "postgres") return;
  await sql`lock table repository_blobs, manifests in share mode`.execute(db);
}

/** Repository names after `after` (in name order) starting with `prefix`, at most `limit`. */
export async function repositoryNames(
  db: Conn,
  prefix: string,
  after: string | undefined,
  limit: number,
): Promise<string[]> {
  let query = db.selectFrom("repositories").select("name").orderBy("name").limit(limit);
  if (prefix !== "") query = query.where(sql<boolean>`name like ${likePrefix(prefix)} escape '\\'`);
  if (after !== undefined) query = query.where("name", ">", after);
  return (await query.execute()).map((r) => r.name);
}

/** Counts what `repositories` hold (their links and manifest rows) into the quota's objects. */
export async function countHoldings(db: Conn, quota: string, repositories: readonly string[]): Promise<void> {
  if (repositories.length === 0) return;
  const upsert = sql`on conflict (quota, digest) do update set refs = quota_objects.refs + excluded.refs`;
  // WHERE before GROUP BY also keeps SQLite from reading the ON CONFLICT as a join's ON.
  await sql`insert into quota_objects (quota, digest, size, refs)
    select ${quota}, rb.digest, b.size, count(*) from repository_blobs rb
    inner join blobs b on b.digest = rb.digest
    where rb.repository in (${sql.join([...repositories])})
    group by rb.digest, b.size ${upsert}`.execute(db);
  await sql`insert into quota_objects (quota, digest, size, refs)
    select ${quota}, m.digest, max(m.size), count(*) from manifests m
    where m.repository in (${sql.join([...repositories])})
    group by m.digest ${upsert}`.execute(db);
}

export async function sumQuotaObjects(db: Conn, quota: string): Promise<number> {
  const row = await db
    .selectFrom("quota_objects")
    .select((eb) => eb.fn.sum<number | string | null>("size").as("bytes"))
    .where("quota", "=", quota)
    .executeTakeFirst();
  return Number(row?.bytes ?? 0);
}

/** A LIKE pattern for names starting with `prefix` (repository names may hold `_`, a LIKE wildcard). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
