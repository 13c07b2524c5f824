import type { Database as BetterSqlite } from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";
import { fullDiskAware } from "./full-disk.js";

/** Enough for every distinct query the registry runs; `IN (?, ?, …)` lists vary and are evicted LRU. */
const MAX_STATEMENTS = 512;

/**
 * better-sqlite3 for Kysely's SqliteDialect, preparing each distinct SQL text once: Kysely prepares on
 * every query, which was the largest cost of a manifest GET. Reuse is safe because Kysely runs one
 * query at a time on its single connection. Each statement reports a full disk as StorageFullError.
 */
export function withStatementCache(sqlite: BetterSqlite, max = MAX_STATEMENTS): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close() {
      statements.clear();
      sqlite.close();
    },
    prepare(sql: string) {
      let statement = statements.get(sql);
      if (statement) {
        statements.delete(sql); // re-insert: most recently used last
      } else {
        statement = fullDiskAware(sqlite.prepare(sql));
        if (statements.size >= max) statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
