import type { Kysely, Selectable } from "kysely";
import type { Database, ImmutableRulesTable } from "./schema.js";

type Conn = Kysely<Database>;
export type ImmutableRuleRow = Selectable<ImmutableRulesTable>;

/** Every rule (there are at most a bounded number, see MAX_IMMUTABLE_RULES), oldest first. */
export async function listImmutableRules(db: Conn): Promise<ImmutableRuleRow[]> {
  return db.selectFrom("immutable_rules").selectAll().orderBy("created_at").orderBy("name").execute();
}

export async function countImmutableRules(db: Conn): Promise<number> {
  const row = await db
    .selectFrom("immutable_rules")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Returns false when a rule of that name exists already. */
export async function insertImmutableRule(db: Conn, rule: ImmutableRuleRow): Promise<boolean> {
  const result = await db
    .insertInto("immutable_rules")
    .values(rule)
    .onConflict((oc) => oc.column("name").doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function deleteImmutableRule(db: Conn, name: string): Promise<ImmutableRuleRow | undefined> {
  const found = await db
    .selectFrom("immutable_rules")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirst();
  if (!found) return undefined;
  await db.deleteFrom("immutable_rules").where("name", "=", name).execute();
  return found;
}

/** Removes every rule (a move's first run, before the source's rules are copied in). */
export async function deleteAllImmutableRules(db: Conn): Promise<void> {
  await db.deleteFrom("immutable_rules").execute();
}
