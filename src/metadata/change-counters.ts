import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

type Conn = Kysely<Database>;

/** The counter of changes to users, robots and access rules. */
const AUTH = "auth";

/**
 * Bumps the auth counter. First in the change's transaction: the row lock it takes on PostgreSQL also
 * serialises account changes, so checks such as "another administrator remains" see each other.
 */
export async function bumpAuthGeneration(db: Conn): Promise<void> {
  await bumpCounter(db, AUTH);
}

/** One indexed single-row read, cheap enough to poll several times a second. */
export async function authGeneration(db: Conn): Promise<number> {
  return counterValue(db, AUTH);
}

/** Runs `change` in a transaction that bumps the auth counter, so every node sees it committed. */
export async function inAuthChange<T>(db: Conn, change: (trx: Conn) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await bumpAuthGeneration(trx);
    return change(trx);
  });
}

/** The counter of changes to immutable-tag rules (see ImmutableTags). */
const IMMUTABLE = "immutable";

/** Bumps the immutable-rules counter, in the rule change's transaction. */
export async function bumpImmutableGeneration(db: Conn): Promise<void> {
  await bumpCounter(db, IMMUTABLE);
}

export async function immutableGeneration(db: Conn): Promise<number> {
  return counterValue(db, IMMUTABLE);
}

/** The counter of changes to trusted keys and trust policies (see TrustState). */
const TRUST = "trust";

/** Bumps the trust counter, first in the key or policy change's transaction (serialising them on PostgreSQL). */
export async function bumpTrustGeneration(db: Conn): Promise<void> {
  await bumpCounter(db, TRUST);
}

export async function trustGeneration(db: Conn): Promise<number> {
  return counterValue(db, TRUST);
}

/** The counter of changes to retention policies and quotas. */
const LIFECYCLE = "lifecycle";

/** Bumps the lifecycle counter, first in a policy or quota change's transaction (serialising them on PostgreSQL). */
export async function bumpLifecycleGeneration(db: Conn): Promise<void> {
  await bumpCounter(db, LIFECYCLE);
}

async function bumpCounter(db: Conn, name: string): Promise<void> {
  // An upsert: a database restored without this row must still tell every node about changes.
  await db
    .insertInto("change_counters")
    .values({ name, value: 1 })
    .onConflict((oc) => oc.column("name").doUpdateSet({ value: sql<number>`change_counters.value + 1` }))
    .execute();
}

async function counterValue(db: Conn, name: string): Promise<number> {
  const row = await db
    .selectFrom("change_counters")
    .select("value")
    .where("name", "=", name)
    .executeTakeFirst();
  return Number(row?.value ?? 0);
}
