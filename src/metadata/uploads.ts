import type { Kysely } from "kysely";
import type { Database } from "./schema.js";
import { now } from "./time.js";

type Conn = Kysely<Database>;

export interface UploadSession {
  id: string;
  repository: string;
}

export async function insertUpload(db: Conn, id: string, repository: string): Promise<void> {
  const at = now();
  await db.insertInto("uploads").values({ id, repository, created_at: at, updated_at: at }).execute();
}

export async function findUpload(db: Conn, id: string): Promise<UploadSession | null> {
  const row = await db
    .selectFrom("uploads")
    .select(["id", "repository"])
    .where("id", "=", id)
    .executeTakeFirst();
  return row ?? null;
}

export async function touchUpload(db: Conn, id: string): Promise<void> {
  await db.updateTable("uploads").set({ updated_at: now() }).where("id", "=", id).execute();
}

export async function deleteUpload(db: Conn, id: string): Promise<void> {
  await db.deleteFrom("uploads").where("id", "=", id).execute();
}

/** Ids of sessions with no activity since `before` (ISO time). */
export async function staleUploadIds(db: Conn, before: string): Promise<string[]> {
  const rows = await db.selectFrom("uploads").select("id").where("updated_at", "<", before).execute();
  return rows.map((r) => r.id);
}

export async function allUploadIds(db: Conn): Promise<string[]> {
  return (await db.selectFrom("uploads").select("id").execute()).map((r) => r.id);
}
