import { closeSync, openSync } from "node:fs";
import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  SqliteDialect,
  sql,
  type Driver,
} from "kysely";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import type { Database } from "./schema.js";
import { migrateToLatest, type SqlDialect } from "./migrations.js";
import { withStatementCache } from "./statement-cache.js";

export type Db = Kysely<Database>;

export interface OpenOptions {
  /** Bring the schema up to date (the one process that starts a node does; its workers only check). */
  migrate?: boolean;
  /** Told when an idle PostgreSQL connection fails (logged by the server). */
  onIdleError?: (err: Error) => void;
}

/** Opens (creating if needed) the embedded SQLite database and brings its schema up to date. */
export async function openSqlite(path: string, options: OpenOptions = {}): Promise<Db> {
  // It holds password and token hashes: create it 0600. SQLite gives its -wal and -shm the same mode.
  closeSync(openSync(path, "a", 0o600));
  const sqlite = new SqliteDatabase(path);
  // WAL lets readers run beside the writer; NORMAL sync is durable across process crashes.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
  });
  try {
    await prepareSchema(db, "sqlite", options);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  // Planner statistics: without them SQLite prefers a covering index on one column over the index that
  // matches the query (seen: 0.3 ms instead of 20 µs per reference lookup at 100,000 blobs).
  // analysis_limit keeps each table's ANALYZE to a sample (SQLite's advice): milliseconds, not a full scan
  // holding the write lock while other workers and nodes wait.
  sqlite.pragma("analysis_limit = 400");
  optimizeSqlite(sqlite, "optimize=0x10002");
  return db;
}

function optimizeSqlite(sqlite: SqliteDatabase.Database, pragma: string): void {
  try {
    sqlite.pragma(pragma);
  } catch (err) {
    // Statistics only steer plans: a busy or read-only database works without fresh ones.
    if (!/^SQLITE_(BUSY|READONLY)/.test(String((err as { code?: unknown }).code ?? ""))) throw err;
  }
}

/**
 * Refreshes the query planner's statistics where the database does not itself (SQLite's `PRAGMA
 * optimize`, cheap when little changed; PostgreSQL's autovacuum analyzes on its own). Long jobs over
 * tables that grew since the process started call it first.
 */
export async function refreshPlannerStatistics(db: Db): Promise<void> {
  if (dialectOf(db) === "sqlite") await sql`pragma optimize`.execute(db);
}

/**
 * Transactions that take SQLite's write lock when they begin. Several processes (workers) share the file:
 * a deferred transaction that reads and then writes fails with SQLITE_BUSY_SNAPSHOT when another process
 * wrote in between (the busy timeout cannot help it), where an immediate one waits its turn.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw("begin immediate"));
    };
    return driver;
  }
}

// BIGINT (sizes, counts) as numbers: every size the registry stores is below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Connects to PostgreSQL with a bounded pool and brings its schema up to date. */
export async function openPostgres(url: string, poolSize: number, options: OpenOptions = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle connection that drops (a PostgreSQL restart, a failover) is an event, not a crash: the pool
  // replaces it, and queries in flight fail on their own with their error.
  pool.on("error", (err) => options.onIdleError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await prepareSchema(db, "postgres", options);
  } catch (err) {
    await db.destroy();
    throw unreachable(err, url) ?? err;
  }
  return db;
}

/** PostgreSQL could not be reached or refused us: said with where, never with the password. */
export class DatabaseUnavailableError extends Error {}

function unreachable(err: unknown, url: string): DatabaseUnavailableError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const network = ["ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "ECONNRESET"];
  // 28xxx: authentication failures; 3D000: no such database.
  const refused = typeof code === "string" && (code.startsWith("28") || code === "3D000");
  if (!(typeof code === "string" && (network.includes(code) || refused))) return undefined;
  let where = "the configured server";
  try {
    const parsed = new URL(url);
    where = `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
  } catch {
    // An unparsable URL is named by the driver's own message.
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new DatabaseUnavailableError(`cannot use PostgreSQL at ${where} (metadata.url): ${reason}`, {
    cause: err,
  });
}

async function prepareSchema(db: Db, dialect: SqlDialect, options: OpenOptions): Promise<void> {
  await migrateToLatest(db as Kysely<unknown>, dialect, { apply: options.migrate !== false });
}

/** The dialect a connection speaks, for the few statements that must differ (locks, collations). */
export function dialectOf(db: Pick<Kysely<unknown>, "getExecutor">): SqlDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}
