import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import { batches } from "./batches.js";

type Conn = Kysely<Database>;

/** Pulls of one manifest counted since the last flush. */
export interface PullDelta {
  repository: string;
  digest: string;
  count: number;
  /** The latest pull's time (ISO-8601). */
  at: string;
}

/** Rows per statement: 4 parameters each, far below every dialect's cap. */
const ROWS_PER_STATEMENT = 250;

/**
 * Adds counted pulls to the manifests' pull_count and moves last_pulled_at forward (never back: two
 * nodes flush in any order). One UPDATE … FROM (VALUES …) per slice of rows, all in one transaction so
 * that a failed flush wrote nothing and can be retried whole without counting anything twice. VALUES
 * columns are named column1… in both SQLite and PostgreSQL. A manifest deleted meanwhile matches no row.
 */
export async function addPulls(db: Conn, deltas: readonly PullDelta[]): Promise<void> {
  await db.transaction().execute((trx) => addPullsIn(trx, deltas));
}

async function addPullsIn(db: Conn, deltas: readonly PullDelta[]): Promise<void> {
  // Same order on every node: two flushes touching the same rows take their locks in one order.
  const sorted = [...deltas].sort((a, b) =>
    a.repository === b.repository ? cmp(a.digest, b.digest) : cmp(a.repository, b.repository),
  );
  for (const batch of batches(sorted, ROWS_PER_STATEMENT)) {
    const rows = sql.join(
      batch.map((d) => sql`(${d.repository}, ${d.digest}, cast(${d.count} as integer), ${d.at})`),
    );
    await sql`
      update manifests set
        pull_count = manifests.pull_count + v.column3,
        last_pulled_at = case
          when manifests.last_pulled_at is null or manifests.last_pulled_at < v.column4 then v.column4
          else manifests.last_pulled_at end
      from (values ${rows}) as v
      where manifests.repository = v.column1 and manifests.digest = v.column2`.execute(db);
  }
}

export interface PullCounts {
  lastPulled: string | null;
  pullCount: number;
}

/** Pull statistics of some manifests of one repository, by digest (missing ones are absent). */
export async function pullCountsOf(
  db: Conn,
  repository: string,
  digests: readonly string[],
): Promise<Map<string, PullCounts>> {
  const found = new Map<string, PullCounts>();
  for (const batch of batches([...new Set(digests)])) {
    const rows = await db
      .selectFrom("manifests")
      .select(["digest", "last_pulled_at", "pull_count"])
      .where("repository", "=", repository)
      .where("digest", "in", batch)
      .execute();
    for (const r of rows) {
      found.set(r.digest, { lastPulled: r.last_pulled_at, pullCount: Number(r.pull_count) });
    }
  }
  return found;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
