import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";

type Conn = Kysely<Database>;

export async function ensureRepository(db: Conn, name: string): Promise<void> {
  await db
    .insertInto("repositories")
    .values({ name, created_at: now() })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
}

export async function repositoryExists(db: Conn, name: string): Promise<boolean> {
  const row = await db.selectFrom("repositories").select("name").where("name", "=", name).executeTakeFirst();
  return row !== undefined;
}

/** Repository names in order, after `last`, at most `limit`. */
export async function listRepositories(db: Conn, last: string | undefined, limit: number): Promise<string[]> {
  let query = db.selectFrom("repositories").select("name").orderBy("name").limit(limit);
  if (last !== undefined) query = query.where("name", ">", last);
  return (await query.execute()).map((r) => r.name);
}
