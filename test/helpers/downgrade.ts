/** Undoing later migrations in a stopped registry's database, for tests of upgrades from older versions. */
import { queryMetadata } from "./backends.js";

/** Back to the schema before 0010_lifecycle (and 0011_quotas, 0012_manifest_touch, 0013_ui_sessions): what every older Wharf left. */
export async function undoLifecycleMigrations(dataDir: string): Promise<void> {
  const run = (text: string, values: unknown[] = []) => queryMetadata(dataDir, text, values);
  await run("DROP TABLE IF EXISTS ui_sessions");
  await run("DROP INDEX IF EXISTS manifests_digest");
  for (const table of ["quota_objects", "quotas", "retention_policies", "gc_runs", "leases"]) {
    await run(`DROP TABLE IF EXISTS ${table}`);
  }
  for (const index of ["blobs_sweep", "repository_blobs_touched", "manifest_references_any_child"]) {
    await run(`DROP INDEX IF EXISTS ${index}`);
  }
  for (const column of ["status", "generation", "version", "touched_at"]) {
    await run(`ALTER TABLE blobs DROP COLUMN ${column}`);
  }
  await run("ALTER TABLE repository_blobs DROP COLUMN touched_at");
  for (const column of ["last_pulled_at", "pull_count", "touched_at"])
    await run(`ALTER TABLE manifests DROP COLUMN ${column}`);
  await run("DELETE FROM change_counters WHERE name = ?", ["lifecycle"]);
  await run("DELETE FROM kysely_migration WHERE name >= ?", ["0010_lifecycle"]);
}
