import type { Statement } from "better-sqlite3";
import type { SqliteStatement } from "kysely";
import { StorageFullError } from "../storage/blob-store.js";

/**
 * SQLite's "database or disk is full" (SQLITE_FULL: the disk, a quota, or max_page_count), which it
 * reports for ENOSPC on the database, its WAL or journal. The statement was rolled back: nothing
 * half-written stays, so callers may answer it as storage being full (507) rather than as a failure.
 */
function isSqliteFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_FULL");
}

function rethrowFull(err: unknown): never {
  if (isSqliteFull(err)) {
    throw new StorageFullError("the metadata database's disk is full (SQLITE_FULL)", { cause: err });
  }
  throw err;
}

/**
 * The statement as Kysely runs it, with a full disk thrown as StorageFullError like the blob store's.
 * After a failed COMMIT (SQLITE_FULL among others) SQLite may have rolled the transaction back itself;
 * Kysely's ROLLBACK would then fail with "no transaction is active" and hide the error that mattered,
 * so a ROLLBACK with no transaction open does nothing.
 */
export function fullDiskAware(statement: Statement): SqliteStatement {
  const isRollback = /^\s*rollback\s*;?\s*$/i.test(statement.source);
  return {
    get reader() {
      return statement.reader;
    },
    all(parameters) {
      try {
        return statement.all(parameters);
      } catch (err) {
        rethrowFull(err);
      }
    },
    run(parameters) {
      if (isRollback && !statement.database.inTransaction) return { changes: 0, lastInsertRowid: 0 };
      try {
        return statement.run(parameters);
      } catch (err) {
        rethrowFull(err);
      }
    },
    iterate(parameters) {
      try {
        return statement.iterate(parameters);
      } catch (err) {
        rethrowFull(err);
      }
    },
  };
}
