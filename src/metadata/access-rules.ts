import type { Kysely, Selectable } from "kysely";
import type { AccessRulesTable, Database } from "./schema.js";

type Conn = Kysely<Database>;
export type AccessRuleRow = Selectable<AccessRulesTable>;

export async function listAccessRules(db: Conn): Promise<AccessRuleRow[]> {
  return db.selectFrom("access_rules").selectAll().orderBy("created_at").orderBy("id").execute();
}

export async function insertAccessRule(db: Conn, rule: AccessRuleRow): Promise<void> {
  await db.insertInto("access_rules").values(rule).execute();
}

export async function deleteAccessRule(db: Conn, id: string): Promise<boolean> {
  const result = await db.deleteFrom("access_rules").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Rules naming a user or robot go with it when it is removed. */
export async function deleteRulesForSubject(db: Conn, subject: string): Promise<void> {
  await db.deleteFrom("access_rules").where("subject", "=", subject).execute();
}
