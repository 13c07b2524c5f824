import { closeSync, openSync } from "node:fs";
import { Kysely, SqliteDialect } from "kysely";
import SqliteDatabase from "better-sqlite3";
import type { Database } from "./schema.js";
import { migrateToLatest } from "./migrations.js";
import { withStatementCache } from "./statement-cache.js";

export type Db = Kysely<Database>;

/** Opens (creating if needed) the embedded SQLite database and brings its schema up to date. */
export async function openSqlite(path: string): Promise<Db> {
  // It holds password and token hashes: create it 0600. SQLite gives its -wal and -shm the same mode.
  closeSync(openSync(path, "a", 0o600));
  const sqlite = new SqliteDatabase(path);
  // WAL lets readers run beside the writer; NORMAL sync is durable across process crashes.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  await migrateToLatest(db as Kysely<unknown>, "sqlite");
  return db;
}
