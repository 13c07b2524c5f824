import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

type Conn = Kysely<Database>;

/**
 * Takes the lease `name` for `holder` until `until` when it is free, lapsed, or already `holder`'s. One
 * conditional statement each way, so two nodes racing for a free lease cannot both get it.
 */
export async function acquireLease(db: Conn, name: string, holder: string, until: Date): Promise<boolean> {
  const at = new Date().toISOString();
  const inserted = await db
    .insertInto("leases")
    .values({ name, holder, until: until.toISOString() })
    .onConflict((oc) => oc.column("name").doNothing())
    .executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return true;
  const taken = await db
    .updateTable("leases")
    .set({ holder, until: until.toISOString() })
    .where("name", "=", name)
    .where((eb) => eb.or([eb("until", "<", at), eb("holder", "=", holder)]))
    .executeTakeFirst();
  return taken.numUpdatedRows > 0n;
}

/** Extends a lease `holder` still holds; false when it lapsed and another took it. */
export async function renewLease(db: Conn, name: string, holder: string, until: Date): Promise<boolean> {
  const renewed = await db
    .updateTable("leases")
    .set({ until: until.toISOString() })
    .where("name", "=", name)
    .where("holder", "=", holder)
    .executeTakeFirst();
  return renewed.numUpdatedRows > 0n;
}

export async function releaseLease(db: Conn, name: string, holder: string): Promise<void> {
  await db.deleteFrom("leases").where("name", "=", name).where("holder", "=", holder).execute();
}

/** Who holds the lease now, if anyone does. */
export async function leaseHolder(db: Conn, name: string): Promise<{ holder: string; until: string } | null> {
  const row = await db
    .selectFrom("leases")
    .select(["holder", "until"])
    .where("name", "=", name)
    .where("until", ">=", new Date().toISOString())
    .executeTakeFirst();
  return row ?? null;
}
