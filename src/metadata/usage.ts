import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import { likePrefix } from "./quotas.js";

type Conn = Kysely<Database>;

/** What one repository holds: each digest once (a link and a manifest row of one digest are one). */
export interface RepositoryUsage {
  repository: string;
  /** Bytes of every digest it holds. */
  bytes: number;
  /** Bytes of the digests no other repository holds (what deleting the repository would free). */
  unique: number;
  blobs: number;
  manifests: number;
}

/** Usage of each of `repositories` (a page: a few hundred names at most). */
export async function repositoryUsage(db: Conn, repositories: readonly string[]): Promise<RepositoryUsage[]> {
  if (repositories.length === 0) return [];
  const names = sql.join([...repositories]);
  const held = await sql<{ repository: string; bytes: number | string; unique_bytes: number | string }>`
    select h.repository, sum(h.size) as bytes,
      sum(case
        when exists (select 1 from repository_blobs o where o.digest = h.digest and o.repository <> h.repository)
          or exists (select 1 from manifests o where o.digest = h.digest and o.repository <> h.repository)
        then 0 else h.size end) as unique_bytes
    from (
      select rb.repository, rb.digest, b.size from repository_blobs rb
      inner join blobs b on b.digest = rb.digest where rb.repository in (${names})
      union
      select m.repository, m.digest, m.size from manifests m where m.repository in (${names})
    ) h
    group by h.repository`.execute(db);
  const blobs = await counts(db, "repository_blobs", repositories);
  const manifests = await counts(db, "manifests", repositories);
  const byName = new Map(held.rows.map((r) => [r.repository, r]));
  return repositories.map((repository) => {
    const row = byName.get(repository);
    return {
      repository,
      bytes: Number(row?.bytes ?? 0),
      unique: Number(row?.unique_bytes ?? 0),
      blobs: blobs.get(repository) ?? 0,
      manifests: manifests.get(repository) ?? 0,
    };
  });
}

async function counts(
  db: Conn,
  table: "repository_blobs" | "manifests",
  repositories: readonly string[],
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom(table)
    .select((eb) => ["repository", eb.fn.countAll<number | string>().as("n")])
    .where("repository", "in", [...repositories])
    .groupBy("repository")
    .execute();
  return new Map(rows.map((r) => [r.repository, Number(r.n)]));
}

export interface Holder {
  digest: string;
  repository: string;
  size: number;
}

/**
 * Holders (links and manifest rows) of repositories starting with `prefix`, in (digest, repository)
 * order after `after`, at most `limit`: every holder of one digest comes together, so a namespace's
 * total counts each digest once while reading a page at a time.
 */
export async function holders(
  db: Conn,
  prefix: string,
  after: { digest: string; repository: string } | undefined,
  limit: number,
): Promise<Holder[]> {
  const like = likePrefix(prefix);
  const rows = await sql<{ digest: string; repository: string; size: number | string }>`
    select digest, repository, size from (
      select rb.digest, rb.repository, b.size from repository_blobs rb
      inner join blobs b on b.digest = rb.digest where rb.repository like ${like} escape '\\'
      union all
      select m.digest, m.repository, m.size from manifests m where m.repository like ${like} escape '\\'
    ) h
    ${after ? sql`where (digest, repository) > (${after.digest}, ${after.repository})` : sql``}
    order by digest, repository
    limit ${limit}`.execute(db);
  return rows.rows.map((r) => ({ digest: r.digest, repository: r.repository, size: Number(r.size) }));
}
