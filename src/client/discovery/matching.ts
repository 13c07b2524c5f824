import type { DiscoveredArtifact } from "./types.js";

/** A search text longer than this is refused before any work (the API has the same bound). */
export const MAX_QUERY_LENGTH = 200;

/**
 * Client-side search over entries from a source without a search of its own (the index artifact, the
 * catalog): every word of the query must occur in the entry; entries rank by where the words occur,
 * whole repository names and path components first, then titles, then tags and descriptions, as the
 * discovery API ranks them. Linear in the entries; ties keep repository and tag order.
 */
export function rankEntries<T extends DiscoveredArtifact>(entries: readonly T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...entries];
  const scored: { entry: T; score: number }[] = [];
  for (const entry of entries) {
    let score = 0;
    for (const word of words) {
      const s = wordScore(entry, word);
      if (s === 0) {
        score = 0;
        break;
      }
      score += s;
    }
    if (score > 0) scored.push({ entry, score });
  }
  scored.sort(
    (a, b) =>
      b.score - a.score ||
      compare(a.entry.repository, b.entry.repository) ||
      compare(a.entry.tags[0] ?? "", b.entry.tags[0] ?? ""),
  );
  return scored.map((s) => s.entry);
}

function wordScore(entry: DiscoveredArtifact, word: string): number {
  const repository = entry.repository.toLowerCase();
  const components = repository.split("/");
  if (repository === word || components.at(-1) === word) return 100;
  if (components.includes(word)) return 80;
  if (components.some((c) => c.startsWith(word))) return 50;
  const title = (entry.title ?? "").toLowerCase();
  if (title === word) return 40;
  const words = [
    ...wordsOf(title),
    ...entry.tags.map((t) => t.toLowerCase()),
    ...wordsOf((entry.kindTitle ?? "").toLowerCase()),
    ...wordsOf((entry.description ?? "").toLowerCase()),
  ];
  if (words.some((w) => w.startsWith(word))) return 20;
  if (
    repository.includes(word) ||
    title.includes(word) ||
    (entry.description ?? "").toLowerCase().includes(word)
  )
    return 10;
  return 0;
}

function wordsOf(text: string): string[] {
  return text.split(/[^a-z0-9.+_-]+/).filter(Boolean);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
