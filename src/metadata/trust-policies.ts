import type { Kysely, Selectable } from "kysely";
import type { Database, TrustPoliciesTable } from "./schema.js";

type Conn = Kysely<Database>;
export type TrustPolicyRow = Selectable<TrustPoliciesTable>;

/** Every trust policy (at most MAX_TRUST_POLICIES), oldest first. */
export async function listTrustPolicies(db: Conn): Promise<TrustPolicyRow[]> {
  return db.selectFrom("trust_policies").selectAll().orderBy("created_at").orderBy("name").execute();
}

export async function countTrustPolicies(db: Conn): Promise<number> {
  const row = await db
    .selectFrom("trust_policies")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Returns false when a policy of that name exists already. */
export async function insertTrustPolicy(db: Conn, policy: TrustPolicyRow): Promise<boolean> {
  const result = await db
    .insertInto("trust_policies")
    .values(policy)
    .onConflict((oc) => oc.column("name").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function deleteTrustPolicy(db: Conn, name: string): Promise<TrustPolicyRow | undefined> {
  const found = await db.selectFrom("trust_policies").selectAll().where("name", "=", name).executeTakeFirst();
  if (!found) return undefined;
  await db.deleteFrom("trust_policies").where("name", "=", name).execute();
  return found;
}
