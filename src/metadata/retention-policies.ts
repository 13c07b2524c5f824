import type { Kysely, Selectable } from "kysely";
import type { Database, RetentionPoliciesTable } from "./schema.js";

type Conn = Kysely<Database>;
export type RetentionPolicyRow = Selectable<RetentionPoliciesTable>;

export async function listRetentionPolicies(db: Conn): Promise<RetentionPolicyRow[]> {
  return db.selectFrom("retention_policies").selectAll().orderBy("name").execute();
}

export async function findRetentionPolicy(db: Conn, name: string): Promise<RetentionPolicyRow | undefined> {
  return db.selectFrom("retention_policies").selectAll().where("name", "=", name).executeTakeFirst();
}

export async function countRetentionPolicies(db: Conn): Promise<number> {
  const row = await db
    .selectFrom("retention_policies")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** False when a policy of that name exists already. */
export async function insertRetentionPolicy(db: Conn, row: RetentionPolicyRow): Promise<boolean> {
  const result = await db
    .insertInto("retention_policies")
    .values(row)
    .onConflict((oc) => oc.column("name").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** The removed row, or undefined if there was none. */
export async function deleteRetentionPolicy(db: Conn, name: string): Promise<RetentionPolicyRow | undefined> {
  const row = await findRetentionPolicy(db, name);
  if (!row) return undefined;
  const result = await db.deleteFrom("retention_policies").where("name", "=", name).executeTakeFirst();
  return result.numDeletedRows > 0n ? row : undefined;
}

/** A tag with what retention judges it by: its manifest, when it was pushed, when that was last pulled. */
export interface RetentionTagRow {
  name: string;
  digest: string;
  updated_at: string;
  last_pulled_at: string | null;
}

/** A repository's tags in name order after `last`, at most `limit`, with their manifests' pull times. */
export async function retentionTags(
  db: Conn,
  repository: string,
  last: string | undefined,
  limit: number,
): Promise<RetentionTagRow[]> {
  let query = db
    .selectFrom("tags as t")
    .leftJoin("manifests as m", (join) =>
      join.onRef("m.repository", "=", "t.repository").onRef("m.digest", "=", "t.digest"),
    )
    .select(["t.name", "t.digest", "t.updated_at", "m.last_pulled_at"])
    .where("t.repository", "=", repository)
    .orderBy("t.name")
    .limit(limit);
  if (last !== undefined) query = query.where("t.name", ">", last);
  return query.execute();
}
