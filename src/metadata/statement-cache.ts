import type { Database as BetterSqlite, Statement } from "better-sqlite3";
import type { SqliteDatabase } from "kysely";

/** Enough for every distinct query the registry runs; `IN (?, ?, …)` lists vary and are evicted LRU. */
const MAX_STATEMENTS = 512;

/**
 * better-sqlite3 for Kysely's SqliteDialect, preparing each distinct SQL text once: Kysely prepares on
 * every query, which was the largest cost of a manifest GET. Reuse is safe because Kysely runs one
 * query at a time on its single connection.
 */
export function withStatementCache(sqlite: BetterSqlite, max = MAX_STATEMENTS): SqliteDatabase {
  const statements = new Map<string, Statement>();
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
        statement = sqlite.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
