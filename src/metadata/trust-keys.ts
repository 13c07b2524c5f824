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

/** Whether the key is registered now with that fingerprint (a re-check of a removed key stops). */
export async function isTrustKeyRegistered(db: Conn, name: string, fingerprint: string): Promise<boolean> {
  const row = await db
    .selectFrom("trust_keys")
    .select("name")
    .where("name", "=", name)
    .where("fingerprint", "=", fingerprint)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Claims (or renews) the re-check of a key for `until`: a compare-and-set, so that of the nodes that
 * see it pending one does the walk. True when this caller holds the lease: nobody held it, it lapsed,
 * or `renew` and it is ours (`held` is the expiry we set last).
 */
export async function claimTrustKeyRecheck(
  db: Conn,
  key: { name: string; fingerprint: string },
  until: string,
  at: string,
  held?: string,
): Promise<boolean> {
  const result = await db
    .updateTable("trust_keys")
    .set({ recheck_claimed_until: until })
    .where("name", "=", key.name)
    .where("fingerprint", "=", key.fingerprint)
    .where("rechecked_at", "is", null)
    .where((eb) =>
      eb.or([
        eb("recheck_claimed_until", "is", null),
        eb("recheck_claimed_until", "<=", at),
        ...(held === undefined ? [] : [eb("recheck_claimed_until", "=", held)]),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Gives a claimed re-check back (it failed): another node, or the next change, may try it. */
export async function releaseTrustKeyRecheck(
  db: Conn,
  key: { name: string; fingerprint: string },
  held: string,
): Promise<void> {
  await db
    .updateTable("trust_keys")
    .set({ recheck_claimed_until: null })
    .where("name", "=", key.name)
    .where("fingerprint", "=", key.fingerprint)
    .where("recheck_claimed_until", "=", held)
    .execute();
}

/** Records that stored signatures were checked against the key (if it still exists with that fingerprint). */
export async function markTrustKeyRechecked(db: Conn, name: string, fingerprint: string): Promise<void> {
  await db
    .updateTable("trust_keys")
    .set({ rechecked_at: new Date().toISOString(), recheck_claimed_until: null })
    .where("name", "=", name)
    .where("fingerprint", "=", fingerprint)
    .execute();
}
