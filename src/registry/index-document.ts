import type { Db } from "../metadata/database.js";
import { tagsBelow, type TagPosition, type TaggedRow } from "../metadata/index-entries.js";
import { findManifest } from "../metadata/manifests.js";
import {
  MAX_ENTRY_TEXT,
  MAX_INDEX_ENTRIES,
  MAX_TAGS_PER_ENTRY,
  sortEntries,
  type IndexDocument,
  type IndexEntry,
} from "../oci/index-artifact/index.js";
import type { FactsRecorder } from "./facts.js";

/** Tags read per query while building a namespace's index. */
const PAGE = 2000;

export interface BuiltDocument {
  doc: IndexDocument;
  /** Artifacts left out because the format's entry cap was reached. */
  omitted: number;
}

/**
 * A namespace's index from the database: every tagged artifact below it that is listed on its own (not
 * an accessory, not a child of an index), skipping the managed indexes' own repositories. The whole
 * list every time, never a patch of the last one, so it is always exactly what the database holds; and
 * deterministic (an entry's `updated` is its newest tag's time), so the same state gives the same digest
 * on every node. Past MAX_INDEX_ENTRIES artifacts, the first ones in (repository, digest) order are kept.
 */
export async function buildDocument(
  db: Db,
  facts: FactsRecorder | undefined,
  namespace: string,
  skip: ReadonlySet<string>,
): Promise<BuiltDocument> {
  const entries: IndexEntry[] = [];
  let omitted = 0;
  let after: TagPosition | undefined;
  let group: TaggedRow[] = [];
  const flush = async () => {
    const entry = group.length > 0 ? await entryOf(db, facts, group) : null;
    group = [];
    if (!entry) return;
    if (entries.length < MAX_INDEX_ENTRIES) entries.push(entry);
    else omitted += 1;
  };
  for (;;) {
    const rows = await tagsBelow(db, namespace, after, PAGE);
    for (const row of rows) {
      if (skip.has(row.repository)) continue;
      const first = group[0];
      if (first && (first.repository !== row.repository || first.digest !== row.digest)) await flush();
      group.push(row);
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) break;
    after = { repository: last.repository, digest: last.digest, tag: last.tag };
  }
  await flush();
  return { doc: { schemaVersion: 1, namespace, entries: sortEntries(entries) }, omitted };
}

/** The entry for one artifact's tags, or null when it is not listed on its own. */
async function entryOf(
  db: Db,
  facts: FactsRecorder | undefined,
  rows: TaggedRow[],
): Promise<IndexEntry | null> {
  let first = rows[0];
  if (!first) return null;
  if (first.hidden === null && facts) {
    // Facts not recorded yet (another node is still extracting them, or the backfill has not got here).
    const manifest = await findManifest(db, first.repository, first.digest);
    if (!manifest) return null;
    const row = await facts.ensure(first.repository, first.digest, manifest.content);
    first = {
      ...first,
      kind: row.kind,
      title: row.title,
      version: row.version,
      description: row.description,
      hidden: row.accessory === 1 || row.top_level === 0 ? 1 : 0,
    };
  }
  if (first.hidden === 1) return null;
  const cut = (s: string | null) => (s === null ? null : s.slice(0, MAX_ENTRY_TEXT));
  const updated = rows.reduce((max, r) => (r.updatedAt > max ? r.updatedAt : max), first.updatedAt);
  return {
    repository: first.repository,
    digest: first.digest,
    // Rows come in tag order: the first MAX_TAGS_PER_ENTRY tags of an artifact with more.
    tags: rows.slice(0, MAX_TAGS_PER_ENTRY).map((r) => r.tag),
    kind: (first.kind ?? "artifact").slice(0, MAX_ENTRY_TEXT),
    title: cut(first.title),
    version: cut(first.version),
    description: cut(first.description),
    updated,
  };
}
