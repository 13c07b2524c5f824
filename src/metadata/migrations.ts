import {
  DEFAULT_MIGRATION_TABLE,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from "kysely";

export type SqlDialect = "sqlite" | "postgres";

/**
 * Migrations live in code so the built package needs no migration files on disk. Never edit one; add one.
 * (The PostgreSQL branch's `collate "C"` was added to existing migrations before any PostgreSQL
 * database was deployed: no database migrated without it exists.)
 */
const migrationsFor = (dialect: SqlDialect): Record<string, Migration> => {
  /**
   * Text compares by bytes on both dialects, as SQLite's BINARY collation does: names, tags, digests and
   * search terms are keys of ORDER BY, pagination (`> last`) and prefix ranges, which a locale's
   * collation (PostgreSQL's default) would order differently (case, punctuation) and not range-scan.
   */
  const varchar = (length: number) =>
    dialect === "postgres"
      ? sql`varchar(${sql.raw(String(length))}) collate "C"`
      : sql`varchar(${sql.raw(String(length))})`;
  return {
    "0001_initial": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("repositories")
          .addColumn("name", varchar(255), (c) => c.primaryKey())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("blobs")
          .addColumn("digest", varchar(160), (c) => c.primaryKey())
          .addColumn("size", "bigint", (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("repository_blobs")
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .addPrimaryKeyConstraint("repository_blobs_pk", ["repository", "digest"])
          .execute();
        await db.schema
          .createIndex("repository_blobs_digest")
          .on("repository_blobs")
          .column("digest")
          .execute();
        await db.schema
          .createTable("manifests")
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("media_type", varchar(255), (c) => c.notNull())
          .addColumn("artifact_type", varchar(255))
          .addColumn("subject_digest", varchar(160))
          .addColumn("annotations", "text")
          .addColumn("size", "bigint", (c) => c.notNull())
          .addColumn("content", dialect === "postgres" ? "bytea" : "blob", (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .addPrimaryKeyConstraint("manifests_pk", ["repository", "digest"])
          .execute();
        await db.schema
          .createIndex("manifests_subject")
          .on("manifests")
          .columns(["repository", "subject_digest"])
          .execute();
        await db.schema
          .createTable("manifest_references")
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("manifest_digest", varchar(160), (c) => c.notNull())
          .addColumn("child_digest", varchar(160), (c) => c.notNull())
          .addColumn("kind", varchar(16), (c) => c.notNull())
          .addPrimaryKeyConstraint("manifest_references_pk", [
            "repository",
            "manifest_digest",
            "child_digest",
          ])
          .execute();
        await db.schema
          .createIndex("manifest_references_child")
          .on("manifest_references")
          .columns(["repository", "child_digest"])
          .execute();
        await db.schema
          .createTable("tags")
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("name", varchar(128), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("updated_at", varchar(32), (c) => c.notNull())
          .addPrimaryKeyConstraint("tags_pk", ["repository", "name"])
          .execute();
        await db.schema.createIndex("tags_digest").on("tags").columns(["repository", "digest"]).execute();
        await db.schema
          .createTable("uploads")
          .addColumn("id", varchar(64), (c) => c.primaryKey())
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .addColumn("updated_at", varchar(32), (c) => c.notNull())
          .execute();
      },
    },
    "0002_auth": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("users")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("password_hash", varchar(255), (c) => c.notNull())
          .addColumn("admin", "integer", (c) => c.notNull())
          .addColumn("version", "integer", (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .addColumn("updated_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("robots")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("secret_hash", varchar(255), (c) => c.notNull())
          .addColumn("repositories", "text", (c) => c.notNull())
          .addColumn("actions", "text", (c) => c.notNull())
          .addColumn("expires_at", varchar(32))
          .addColumn("last_used_at", varchar(32))
          .addColumn("revoked_at", varchar(32))
          .addColumn("created_by", varchar(64), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("access_rules")
          .addColumn("id", varchar(32), (c) => c.primaryKey())
          .addColumn("subject", varchar(80), (c) => c.notNull())
          .addColumn("pattern", varchar(255), (c) => c.notNull())
          .addColumn("actions", "text", (c) => c.notNull())
          .addColumn("created_by", varchar(64), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("audit_events")
          .addColumn("seq", dialect === "postgres" ? "bigserial" : "integer", (c) =>
            dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn("at", varchar(32), (c) => c.notNull())
          .addColumn("actor", varchar(80), (c) => c.notNull())
          .addColumn("client", varchar(64), (c) => c.notNull())
          .addColumn("action", varchar(64), (c) => c.notNull())
          .addColumn("repository", varchar(255))
          .addColumn("target", varchar(255))
          .addColumn("outcome", varchar(16), (c) => c.notNull())
          .addColumn("detail", "text")
          .execute();
        await db.schema.createIndex("audit_events_at").on("audit_events").column("at").execute();
        await db.schema
          .createTable("settings")
          .addColumn("key", varchar(64), (c) => c.primaryKey())
          .addColumn("value", "text", (c) => c.notNull())
          .execute();
      },
    },
    "0003_discovery": {
      // Facts per artifact and the search index, filled at push and by the start-up backfill. Plain
      // tables and B-tree indexes only: search is a prefix range over `term`, the same on every dialect.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("artifacts")
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("kind", varchar(64), (c) => c.notNull())
          .addColumn("kind_title", varchar(255), (c) => c.notNull())
          .addColumn("accessory", "integer", (c) => c.notNull())
          .addColumn("refers_to", varchar(160))
          .addColumn("top_level", "integer", (c) => c.notNull())
          .addColumn("title", "text")
          .addColumn("description", "text")
          .addColumn("version", "text")
          .addColumn("size", "bigint", (c) => c.notNull())
          .addColumn("layer_count", "integer", (c) => c.notNull())
          .addColumn("platforms", "text", (c) => c.notNull())
          .addColumn("facts", "text", (c) => c.notNull())
          .addColumn("pushed_at", varchar(32), (c) => c.notNull())
          .addPrimaryKeyConstraint("artifacts_pk", ["repository", "digest"])
          .execute();
        await db.schema
          .createIndex("artifacts_listing")
          .on("artifacts")
          .columns(["repository", "top_level", "digest"])
          .execute();
        // A repository's newest listed artifact (its description in repository listings) is one seek.
        await db.schema
          .createIndex("artifacts_newest")
          .on("artifacts")
          .columns(["repository", "top_level", "pushed_at"])
          .execute();
        await db.schema
          .createIndex("artifacts_kind")
          .on("artifacts")
          .columns(["kind", "repository"])
          .execute();
        await db.schema
          .createIndex("artifacts_refers_to")
          .on("artifacts")
          .columns(["repository", "refers_to"])
          .execute();
        await db.schema
          .createTable("search_terms")
          .addColumn("term", varchar(255), (c) => c.notNull())
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("field", varchar(16), (c) => c.notNull())
          .addColumn("weight", "integer", (c) => c.notNull())
          .execute();
        // Covering: a search reads only this index over its term range (no table lookups per match).
        await db.schema
          .createIndex("search_terms_term")
          .on("search_terms")
          .columns(["term", "field", "weight", "repository", "digest"])
          .execute();
        // By digest alone (digests all but never repeat across repositories): an index in group-by order
        // would tempt SQLite to walk it whole for a search instead of ranging over terms.
        await db.schema.createIndex("search_terms_digest").on("search_terms").column("digest").execute();
      },
    },
    "0004_index_marks": {
      // Namespaces whose managed index artifact is out of date. In the database, not in memory, so that a
      // restart (or another node) rebuilds what a push marked; the token changes on every mark, so a
      // rebuild clears only the mark it read.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("index_marks")
          .addColumn("namespace", varchar(255), (c) => c.primaryKey())
          .addColumn("token", varchar(64), (c) => c.notNull())
          .addColumn("marked_at", varchar(32), (c) => c.notNull())
          .execute();
      },
    },
    "0005_shared_uploads": {
      // Everything a node needs to continue an upload another node started: the size received, the
      // SHA-256 state after it (so completing never re-reads the data), the blob store's own state (an S3
      // multipart upload's parts), and a lease that keeps two requests from writing one upload at once.
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable("uploads")
          .addColumn("size", "bigint", (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable("uploads")
          .addColumn("hash_state", dialect === "postgres" ? "bytea" : "blob")
          .execute();
        await db.schema.alterTable("uploads").addColumn("store_state", "text").execute();
        await db.schema.alterTable("uploads").addColumn("lease_token", varchar(64)).execute();
        await db.schema.alterTable("uploads").addColumn("lease_until", varchar(32)).execute();
        await db.schema.createIndex("uploads_updated").on("uploads").column("updated_at").execute();
      },
    },
    "0006_shared_auth": {
      // Auth state every node shares: the token signing key (so a token from one node verifies on all),
      // login attempts (reservations and failures per key, for the lockout), and a counter bumped with
      // every change to users, robots and rules, which nodes poll to drop their caches.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("token_signing_keys")
          .addColumn("name", varchar(32), (c) => c.primaryKey())
          .addColumn("jwk", "text", (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("login_attempts")
          .addColumn("id", varchar(32), (c) => c.notNull())
          .addColumn("key_hash", varchar(64), (c) => c.notNull())
          .addColumn("state", varchar(8), (c) => c.notNull())
          .addColumn("expires_ms", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("login_attempts_pk", ["id", "key_hash"])
          .execute();
        await db.schema
          .createIndex("login_attempts_key")
          .on("login_attempts")
          .columns(["key_hash", "expires_ms"])
          .execute();
        await db.schema
          .createIndex("login_attempts_expires")
          .on("login_attempts")
          .column("expires_ms")
          .execute();
        await db.schema
          .createTable("change_counters")
          .addColumn("name", varchar(32), (c) => c.primaryKey())
          .addColumn("value", "bigint", (c) => c.notNull())
          .execute();
        await sql`insert into change_counters (name, value) values ('auth', 0)`.execute(db);
      },
    },
    "0007_immutable_tags": {
      // Rules that make tags immutable, and their change counter (every node caches the rules). The
      // default rule (semver-looking tags everywhere) only on a fresh database: a registry upgraded with
      // repositories in it keeps its behaviour until an administrator adds the rule.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("immutable_rules")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("repositories", varchar(255), (c) => c.notNull())
          .addColumn("tags", varchar(256), (c) => c.notNull())
          .addColumn("kind", varchar(16), (c) => c.notNull())
          .addColumn("created_by", varchar(80), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await sql`insert into change_counters (name, value) values ('immutable', 0)`.execute(db);
        const used = await sql<{ name: string }>`select name from repositories limit 1`.execute(db);
        if (used.rows.length === 0) {
          await sql`insert into immutable_rules (name, repositories, tags, kind, created_by, created_at)
            values ('semver', '**', 'semver', 'semver', 'wharf', ${new Date().toISOString()})`.execute(db);
        }
      },
    },
    "0008_tag_versions": {
      // A counter per repository, bumped with every tag change: the tag list's ETag, exact where a
      // count and latest timestamp miss a move (same millisecond, a node whose clock is behind).
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable("repositories")
          .addColumn("tags_version", "bigint", (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    "0009_trust": {
      // Signature trust: public keys administrators trust, policies naming the keys a repository's
      // artifacts must be signed with, every signature the registry holds (one row per signature: a cosign
      // `.sig` image holds one per layer) and which trusted keys verified it. Removing a key removes its
      // verifications; adding one re-checks the stored signatures against it (`rechecked_at` is set once that
      // is done, so a key added while no server ran, with the CLI's --data-dir, is re-checked at start; one
      // node claims it through `recheck_claimed_until`). A verification names the key's fingerprint too: a
      // key re-added under the same name is another key, and never inherits what the old one verified.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("trust_keys")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("public_key", "text", (c) => c.notNull())
          .addColumn("certificate", "text")
          .addColumn("fingerprint", varchar(64), (c) => c.notNull())
          .addColumn("rechecked_at", varchar(32))
          .addColumn("recheck_claimed_until", varchar(32))
          .addColumn("created_by", varchar(80), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("trust_policies")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("repositories", varchar(255), (c) => c.notNull())
          .addColumn("keys", "text", (c) => c.notNull())
          .addColumn("mode", varchar(8), (c) => c.notNull())
          .addColumn("created_by", varchar(80), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("signatures")
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("layer", "integer", (c) => c.notNull())
          .addColumn("subject_digest", varchar(160), (c) => c.notNull())
          .addColumn("format", varchar(24), (c) => c.notNull())
          .addColumn("checked_at", varchar(32), (c) => c.notNull())
          .addPrimaryKeyConstraint("signatures_pk", ["repository", "digest", "layer"])
          .execute();
        await db.schema
          .createIndex("signatures_subject")
          .on("signatures")
          .columns(["repository", "subject_digest"])
          .execute();
        await db.schema
          .createTable("signature_keys")
          .addColumn("repository", varchar(255), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("layer", "integer", (c) => c.notNull())
          .addColumn("key_name", varchar(64), (c) => c.notNull())
          .addColumn("fingerprint", varchar(64), (c) => c.notNull())
          .addColumn("subject_digest", varchar(160), (c) => c.notNull())
          .addColumn("verified_at", varchar(32), (c) => c.notNull())
          .addColumn("expires_at", varchar(32))
          .addPrimaryKeyConstraint("signature_keys_pk", [
            "repository",
            "digest",
            "layer",
            "key_name",
            "fingerprint",
          ])
          .execute();
        await db.schema
          .createIndex("signature_keys_subject")
          .on("signature_keys")
          .columns(["repository", "subject_digest", "key_name"])
          .execute();
        await db.schema.createIndex("signature_keys_key").on("signature_keys").column("key_name").execute();
        await sql`insert into change_counters (name, value) values ('trust', 0)`.execute(db);
      },
    },
    "0010_lifecycle": {
      // Garbage collection, retention, pull statistics and quotas (issue 15).
      // - A blob row is a small state machine: `live` until a sweep claims it (`deleting`, by a
      //   compare-and-swap on `version`), then gone once its bytes are. `generation` names one incarnation
      //   (a fresh random value each time the row is created), `touched_at` is when anything last gave it
      //   (or could give it) a reference. Links (`repository_blobs`) carry their own `touched_at`.
      // - Manifests count their pulls (flushed in batches).
      // - `leases` lets one node at a time run a sweep (or any other singleton job); `gc_runs` keeps
      //   each run's report.
      // - Retention policies and quotas; `quota_objects` counts, per quota, how many links or manifests in
      //   its namespace hold each digest, so a digest counts once and usage is exact.
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable("blobs")
          .addColumn("status", varchar(16), (c) => c.notNull().defaultTo("live"))
          .execute();
        await db.schema
          .alterTable("blobs")
          .addColumn("generation", varchar(64), (c) => c.notNull().defaultTo(""))
          .execute();
        await db.schema
          .alterTable("blobs")
          .addColumn("version", "bigint", (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable("blobs").addColumn("touched_at", varchar(32)).execute();
        await sql`update blobs set touched_at = created_at`.execute(db);
        await db.schema.createIndex("blobs_sweep").on("blobs").columns(["status", "touched_at"]).execute();
        await db.schema.alterTable("repository_blobs").addColumn("touched_at", varchar(32)).execute();
        await sql`update repository_blobs set touched_at = created_at`.execute(db);
        await db.schema
          .createIndex("repository_blobs_touched")
          .on("repository_blobs")
          .column("touched_at")
          .execute();
        // Whether any manifest in any repository references a blob (the sweep's last check).
        await db.schema
          .createIndex("manifest_references_any_child")
          .on("manifest_references")
          .columns(["child_digest", "kind"])
          .execute();
        await db.schema.alterTable("manifests").addColumn("last_pulled_at", varchar(32)).execute();
        await db.schema
          .alterTable("manifests")
          .addColumn("pull_count", "bigint", (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createTable("leases")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("holder", varchar(64), (c) => c.notNull())
          .addColumn("until", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("gc_runs")
          .addColumn("id", varchar(64), (c) => c.primaryKey())
          .addColumn("trigger", varchar(16), (c) => c.notNull())
          .addColumn("dry_run", "integer", (c) => c.notNull())
          .addColumn("actor", varchar(80), (c) => c.notNull())
          .addColumn("status", varchar(16), (c) => c.notNull())
          .addColumn("started_at", varchar(32), (c) => c.notNull())
          .addColumn("finished_at", varchar(32))
          .addColumn("report", "text")
          .addColumn("error", "text")
          .execute();
        await db.schema.createIndex("gc_runs_started").on("gc_runs").column("started_at").execute();
        await db.schema
          .createTable("retention_policies")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("repositories", varchar(255), (c) => c.notNull())
          .addColumn("rules", "text", (c) => c.notNull())
          .addColumn("created_by", varchar(80), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("quotas")
          .addColumn("name", varchar(64), (c) => c.primaryKey())
          .addColumn("repositories", varchar(255), (c) => c.notNull())
          .addColumn("limit_bytes", "bigint", (c) => c.notNull())
          .addColumn("used_bytes", "bigint", (c) => c.notNull().defaultTo(0))
          .addColumn("created_by", varchar(80), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("quota_objects")
          .addColumn("quota", varchar(64), (c) => c.notNull())
          .addColumn("digest", varchar(160), (c) => c.notNull())
          .addColumn("size", "bigint", (c) => c.notNull())
          .addColumn("refs", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("quota_objects_pk", ["quota", "digest"])
          .execute();
        await sql`insert into change_counters (name, value) values ('lifecycle', 0)`.execute(db);
      },
    },
    "0011_quotas": {
      // Usage (`wharf du`): whether any other repository holds a digest as a manifest, without scanning
      // every manifest (the primary key leads with the repository).
      async up(db: Kysely<unknown>) {
        await db.schema.createIndex("manifests_digest").on("manifests").column("digest").execute();
      },
    },
    "0012_manifest_touch": {
      // A manifest PUT again (by digest, content already stored) refreshes it, so the manifest sweep does
      // not remove one that just got a 201. Null for older rows: created_at stands for it.
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable("manifests").addColumn("touched_at", varchar(32)).execute();
      },
    },
    "0013_ui_sessions": {
      // Web UI sign-ins, in the database so every node knows them (and a sign-out or password change
      // ends them on every node). Keyed by the SHA-256 of the cookie's value, never the value itself.
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("ui_sessions")
          .addColumn("id_hash", varchar(64), (c) => c.primaryKey())
          .addColumn("subject", varchar(80), (c) => c.notNull())
          .addColumn("account_created_at", varchar(32), (c) => c.notNull())
          .addColumn("account_version", "bigint", (c) => c.notNull())
          .addColumn("csrf", varchar(64), (c) => c.notNull())
          .addColumn("created_at", varchar(32), (c) => c.notNull())
          .addColumn("expires_at", varchar(32), (c) => c.notNull())
          .addColumn("last_seen_at", varchar(32), (c) => c.notNull())
          .execute();
        await db.schema.createIndex("ui_sessions_subject").on("ui_sessions").column("subject").execute();
        await db.schema.createIndex("ui_sessions_expires").on("ui_sessions").column("expires_at").execute();
      },
    },
  };
};

/** The database was migrated by a newer Wharf: this binary must not touch it. */
export class SchemaTooNewError extends Error {}

/** Migrations this wharf knows are not applied (and `apply` was false: nothing was changed). */
export class SchemaPendingError extends Error {
  constructor(
    readonly pending: string[],
    /** Not one applied: a database no server set up yet. */
    readonly empty: boolean,
  ) {
    super(`the database schema is not up to date (pending: ${pending.join(", ")})`);
  }
}

export interface MigrateOptions {
  /** Apply pending migrations; when false only check that none is pending and none is unknown. */
  apply: boolean;
}

/**
 * Brings the schema up to date. Kysely's migrator takes a database lock (an advisory lock on
 * PostgreSQL; SQLite's single writer), so nodes starting together migrate one at a time.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  options: MigrateOptions = { apply: true },
): Promise<void> {
  const known = migrationsFor(dialect);
  const applied = await appliedMigrations(db);
  const unknown = applied.filter((name) => !(name in known));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `the database schema is newer than this wharf: it has migration ${unknown.join(", ")}, which this ` +
        "version does not know. Run the wharf version that migrated it (or a newer one); never downgrade " +
        "a database in place (restore the backup taken before the upgrade instead)",
    );
  }
  if (!options.apply) {
    const pending = Object.keys(known).filter((name) => !applied.includes(name));
    if (pending.length > 0) throw new SchemaPendingError(pending, applied.length === 0);
    return;
  }
  const provider: MigrationProvider = { getMigrations: async () => known };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    throw new Error(
      `database migration failed${failed ? ` at ${failed.migrationName}` : ""}: ${String(error)}`,
    );
  }
}

/** Names of the migrations already applied (none on a fresh database). */
async function appliedMigrations(db: Kysely<unknown>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === DEFAULT_MIGRATION_TABLE)) return [];
  const rows = await sql<{ name: string }>`select name from ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(
    db,
  );
  return rows.rows.map((r) => r.name);
}
