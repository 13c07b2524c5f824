import { sql, type Kysely, type RawBuilder } from "kysely";
import { MAX_BATCH } from "./batches.js";
import { dialectOf, type Db } from "./database.js";
import { getSetting, putSetting } from "./settings.js";

/**
 * Copying every table of one metadata database into another (`wharf move`). Rows are read by primary
 * key in key order (keyset pages, so a big table is never read whole nor re-scanned) and inserted with
 * ON CONFLICT DO NOTHING, so a rerun after an interruption completes the copy without duplicates.
 */

/** A table's rows as plain values: the copy moves columns without knowing what they mean. */
type Row = Record<string, unknown>;
// Tables are named at run time here; the typed schema cannot follow a table name held in a string.
type AnyDb = Kysely<Record<string, Row>>;

export interface MovedTable {
  name: string;
  /** The primary key, in the order rows are paged by. */
  key: readonly string[];
  /** Rows per page; smaller where a row may be large. */
  batch: number;
}

/** Dependency order: a row is inserted after every row it refers to. */
export const MOVED_TABLES: readonly MovedTable[] = [
  { name: "repositories", key: ["name"], batch: MAX_BATCH },
  { name: "blobs", key: ["digest"], batch: MAX_BATCH },
  { name: "repository_blobs", key: ["repository", "digest"], batch: MAX_BATCH },
  // A manifest may be megabytes: a page of them stays bounded in memory.
  { name: "manifests", key: ["repository", "digest"], batch: 32 },
  { name: "manifest_references", key: ["repository", "manifest_digest", "child_digest"], batch: MAX_BATCH },
  { name: "tags", key: ["repository", "name"], batch: MAX_BATCH },
  { name: "users", key: ["name"], batch: MAX_BATCH },
  { name: "robots", key: ["name"], batch: MAX_BATCH },
  { name: "access_rules", key: ["id"], batch: MAX_BATCH },
  { name: "settings", key: ["key"], batch: MAX_BATCH },
  { name: "audit_events", key: ["seq"], batch: MAX_BATCH },
  { name: "artifacts", key: ["repository", "digest"], batch: MAX_BATCH },
  { name: "index_marks", key: ["namespace"], batch: MAX_BATCH },
  // The token signing key: tokens the old registry issued stay valid on the new one.
  { name: "token_signing_keys", key: ["name"], batch: MAX_BATCH },
  // The source's rules replace the target's (see clearTargetRules): its default rule included or not.
  { name: "immutable_rules", key: ["name"], batch: MAX_BATCH },
  { name: "trust_keys", key: ["name"], batch: MAX_BATCH },
  { name: "trust_policies", key: ["name"], batch: MAX_BATCH },
  { name: "signatures", key: ["repository", "digest", "layer"], batch: MAX_BATCH },
  {
    name: "signature_keys",
    key: ["repository", "digest", "layer", "key_name", "fingerprint"],
    batch: MAX_BATCH,
  },
  { name: "gc_runs", key: ["id"], batch: MAX_BATCH },
  { name: "retention_policies", key: ["name"], batch: MAX_BATCH },
  { name: "quotas", key: ["name"], batch: MAX_BATCH },
  { name: "quota_objects", key: ["quota", "digest"], batch: MAX_BATCH },
];

/** Has no primary key: copied per manifest by copySearchTerms, after the tables above. */
export const SEARCH_TERMS = "search_terms";

/**
 * Tables deliberately left behind: upload sessions are in-flight state (their data is scratch in the
 * old store, and clients restart an upload they cannot continue); login attempts are short-lived
 * lockout counts; web UI sessions are short-lived too (users sign in again); change counters only tell
 * running nodes to drop caches (the target starts its own); the migrator's own tables are written by
 * the target's migrations.
 */
export const NOT_MOVED: readonly string[] = [
  "uploads",
  "login_attempts",
  "ui_sessions",
  "change_counters",
  "leases",
  "kysely_migration",
  "kysely_migration_lock",
];

/** The settings key a move records in its target, so a rerun recognises a target it filled. */
const MOVE_MARKER = "move.from";

/** Tables of `db` this code neither copies nor leaves behind on purpose: a move must refuse them. */
export async function unknownTables(db: Db): Promise<string[]> {
  const known = new Set([...MOVED_TABLES.map((t) => t.name), SEARCH_TERMS, ...NOT_MOVED]);
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.map((t) => t.name).filter((name) => !known.has(name));
}

/** Which source a target was filled from, or undefined if no move wrote to it. */
export async function moveSourceOf(db: Db): Promise<string | undefined> {
  return getSetting(db, MOVE_MARKER);
}

export async function recordMoveSource(db: Db, source: string): Promise<void> {
  await putSetting(db, MOVE_MARKER, source);
}

/**
 * Tables a fresh database's migrations fill (the default immutable-tag rule): not data, so they do not
 * make a target "not empty"; a first move replaces their rows with the source's.
 */
const MIGRATION_FILLED = new Set(["immutable_rules"]);

/** The first table a move fills that holds a row already (the move's own marker aside), if any. */
export async function filledTable(db: Db): Promise<string | undefined> {
  const any = db as unknown as AnyDb;
  for (const name of [...MOVED_TABLES.map((t) => t.name), SEARCH_TERMS]) {
    if (MIGRATION_FILLED.has(name)) continue;
    let query = any.selectFrom(name).select(sql<number>`1`.as("one"));
    if (name === "settings") query = query.where("key", "!=", MOVE_MARKER);
    if ((await query.limit(1).executeTakeFirst()) !== undefined) return name;
  }
  return undefined;
}

export async function countRows(db: Db, table: string): Promise<number> {
  const row = await (db as unknown as AnyDb)
    .selectFrom(table)
    .select(sql<number | string>`count(*)`.as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** One page of `table` after `after` (the key of the last row of the previous page), in key order. */
export async function readPage(
  db: Db,
  table: MovedTable,
  after: readonly unknown[] | undefined,
  limit = table.batch,
): Promise<Row[]> {
  let query = (db as unknown as AnyDb).selectFrom(table.name).selectAll();
  if (after) query = query.where(sql<boolean>`(${refs(table.key)}) > (${sql.join([...after])})`);
  for (const column of table.key) query = query.orderBy(column);
  return query.limit(limit).execute();
}

export function keyOf(table: MovedTable, row: Row): unknown[] {
  return table.key.map((column) => row[column]);
}

/** Inserts rows whose key the target lacks; returns how many it lacked. */
export async function insertMissing(db: Db, table: MovedTable, rows: Row[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await (db as unknown as AnyDb)
    .insertInto(table.name)
    .values(rows)
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

const MANIFESTS: MovedTable = { name: "manifests", key: ["repository", "digest"], batch: 100 };

/**
 * Copies the search index, which has no primary key to ignore conflicts on: per page of manifests,
 * the target's terms for those manifests are replaced by the source's in one transaction, so a rerun
 * neither duplicates nor loses terms. Returns the rows written.
 */
export async function copySearchTerms(source: Db, target: Db): Promise<number> {
  let written = 0;
  let after: unknown[] | undefined;
  for (;;) {
    const page = await readPage(source, MANIFESTS, after, MANIFESTS.batch);
    if (page.length === 0) return written;
    after = keyOf(MANIFESTS, page[page.length - 1] as Row);
    const pairs = sql<boolean>`(repository, digest) in (values ${sql.join(
      page.map((m) => sql`(${m.repository}, ${m.digest})`),
    )})`;
    const terms = await (source as unknown as AnyDb)
      .selectFrom(SEARCH_TERMS)
      .selectAll()
      .where(pairs)
      .execute();
    await (target as unknown as AnyDb).transaction().execute(async (trx) => {
      await trx.deleteFrom(SEARCH_TERMS).where(pairs).execute();
      for (let i = 0; i < terms.length; i += MAX_BATCH) {
        await trx
          .insertInto(SEARCH_TERMS)
          .values(terms.slice(i, i + MAX_BATCH))
          .execute();
      }
    });
    written += terms.length;
  }
}

/**
 * Sets PostgreSQL's audit_events sequence past the copied rows, so the next event gets a new seq
 * (explicit values do not advance a bigserial). SQLite's AUTOINCREMENT follows explicit values itself.
 */
export async function advanceSequences(db: Db): Promise<void> {
  if (dialectOf(db as unknown as Kysely<unknown>) !== "postgres") return;
  await sql`select setval(pg_get_serial_sequence('audit_events', 'seq'),
    (select coalesce(max(seq), 0) + 1 from audit_events), false)`.execute(db);
}

function refs(columns: readonly string[]): RawBuilder<unknown> {
  return sql.join(columns.map((c) => sql.ref(c)));
}
