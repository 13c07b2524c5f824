import { IndexArtifactError, MAX_ENTRY_TEXT, MAX_INDEX_ENTRIES, isBelow } from "./format.js";
import type { IndexDocument, IndexEntry } from "./types.js";

/** An empty index for a namespace. */
export function emptyIndex(namespace: string): IndexDocument {
  return { schemaVersion: 1, namespace, entries: [] };
}

/**
 * The document with `entry` in it: its tags now name its digest, so they leave every other entry of
 * the same repository (an entry left without tags is dropped), and tags it already had are kept.
 * Other repositories' entries are never touched. Pure: returns a new document.
 */
export function upsertEntry(doc: IndexDocument, entry: IndexEntry): IndexDocument {
  if (!isBelow(entry.repository, doc.namespace))
    throw new IndexArtifactError(
      `${entry.repository} is not below the index's namespace ${JSON.stringify(doc.namespace)}`,
    );
  const moved = new Set(entry.tags);
  let merged: IndexEntry = { ...entry, tags: [...moved].sort(), ...clipped(entry) };
  const entries: IndexEntry[] = [];
  for (const other of doc.entries) {
    if (other.repository !== entry.repository) {
      entries.push(other);
    } else if (other.digest === entry.digest) {
      merged = { ...merged, tags: [...new Set([...other.tags, ...merged.tags])].sort() };
    } else {
      const tags = other.tags.filter((t) => !moved.has(t));
      if (tags.length > 0) entries.push({ ...other, tags });
    }
  }
  entries.push(merged);
  if (entries.length > MAX_INDEX_ENTRIES)
    throw new IndexArtifactError(`the index would have more than ${MAX_INDEX_ENTRIES} entries`);
  return { ...doc, entries: sortEntries(entries) };
}

/** The document without `tag` of `repository` (an entry left without tags is dropped). */
export function removeTag(doc: IndexDocument, repository: string, tag: string): IndexDocument {
  const entries = doc.entries.flatMap((e) => {
    if (e.repository !== repository || !e.tags.includes(tag)) return [e];
    const tags = e.tags.filter((t) => t !== tag);
    return tags.length > 0 ? [{ ...e, tags }] : [];
  });
  return { ...doc, entries };
}

/** The document without the entry for `repository@digest` (a deleted manifest takes all its tags). */
export function removeDigest(doc: IndexDocument, repository: string, digest: string): IndexDocument {
  return {
    ...doc,
    entries: doc.entries.filter((e) => !(e.repository === repository && e.digest === digest)),
  };
}

/** Entries by repository, then digest: the same set always gives the same bytes. */
export function sortEntries(entries: readonly IndexEntry[]): IndexEntry[] {
  return [...entries].sort((a, b) => compare(a.repository, b.repository) || compare(a.digest, b.digest));
}

/** Whether no entry of `repository` has `tag`. */
export function lacksTag(doc: IndexDocument, repository: string, tag: string): boolean {
  return !doc.entries.some((e) => e.repository === repository && e.tags.includes(tag));
}

function clipped(entry: IndexEntry): Pick<IndexEntry, "kind" | "title" | "version" | "description"> {
  const cut = (s: string | null) => (s === null ? null : s.slice(0, MAX_ENTRY_TEXT));
  return {
    kind: entry.kind.slice(0, MAX_ENTRY_TEXT),
    title: cut(entry.title),
    version: cut(entry.version),
    description: cut(entry.description),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
