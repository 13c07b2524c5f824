import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";

type Conn = Kysely<Database>;

/** The key every node signs tokens with. */
const CURRENT = "current";

export async function findSigningKey(db: Conn): Promise<string | undefined> {
  const row = await db
    .selectFrom("token_signing_keys")
    .select("jwk")
    .where("name", "=", CURRENT)
    .executeTakeFirst();
  return row?.jwk;
}

/** Stores `jwk` unless a key is there already: the first node to start wins, the others read it back. */
export async function insertSigningKeyIfAbsent(db: Conn, jwk: string): Promise<void> {
  await db
    .insertInto("token_signing_keys")
    .values({ name: CURRENT, jwk, created_at: now() })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
}
