import type { Kysely, Selectable } from "kysely";
import type { Database, TrustKeysTable } from "./schema.js";

type Conn = Kysely<Database>;
export type TrustKeyRow = Selectable<TrustKeysTable>;

/** Every trusted key (at most MAX_TRUST_KEYS), oldest first. */
export async function listTrustKeys(db: Conn): Promise<TrustKeyRow[]> {
  return db.selectFrom("trust_keys").selectAll().orderBy("created_at").orderBy("name").execute();
}

export async function countTrustKeys(db: Conn): Promise<number> {
  const row = await db
    .selectFrom("trust_keys")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Returns false when a key of that name exists already. */
export async function insertTrustKey(db: Conn, key: TrustKeyRow): Promise<boolean> {
  const result = await db
    .insertInto("trust_keys")
    .values(key)
    .onConflict((oc) => oc.column("name").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Removes the key and every verification it made, so its signatures stop counting in the same commit. */
export async function deleteTrustKey(db: Conn, name: string): Promise<TrustKeyRow | undefined> {
  const found = await db.selectFrom("trust_keys").selectAll().where("name", "=", name).executeTakeFirst();
  if (!found) return undefined;
  await db.deleteFrom("signature_keys").where("key_name", "=", name).execute();
  await db.deleteFrom("trust_keys").where("name", "=", name).execute();
  return found;
}

/** Records that stored signatures were checked against the key (if it still exists). */
export async function markTrustKeyRechecked(db: Conn, name: string, fingerprint: string): Promise<void> {
  await db
    .updateTable("trust_keys")
    .set({ rechecked_at: new Date().toISOString() })
    .where("name", "=", name)
    .where("fingerprint", "=", fingerprint)
    .execute();
}
