import type { ArtifactFacts } from "../oci/kinds/index.js";
import { KV_FIELD, type Term } from "../metadata/search-terms.js";

/** How a field ranks in search: names first, then titles (and tags), descriptions, annotation values. */
const FIELD_WEIGHTS = { name: 80, namepart: 80, title: 60, description: 40, annotation: 20 } as const;

/** Longest term stored; a query longer than this matches by its first MAX_TERM characters. */
const MAX_TERM = 100;
const MAX_TERMS = 256;
const MAX_ANNOTATIONS = 64;
const WORD = /[\p{L}\p{N}]+/gu;

/** Normalises text the way terms are stored: lower case, trimmed, cut to MAX_TERM characters. */
export function normalizeTerm(text: string): string {
  return text.trim().toLowerCase().slice(0, MAX_TERM);
}

/** The exact term an `annotation=key=value` filter looks up. */
export function annotationFilterTerm(key: string, value: string): string {
  return normalizeTerm(`${key}=${value}`);
}

/**
 * The search terms of an artifact (tags are kept apart, see setTagTerms): its repository name whole, by
 * path component and by word, and the whole text and each word of its title, description and annotation
 * values. Bounded: at most MAX_TERMS rows, each at most MAX_TERM characters; a term keeps its best field.
 */
export function termsFor(
  repository: string,
  facts: Pick<ArtifactFacts, "title" | "description" | "kindTitle">,
  annotations: Record<string, string>,
): Term[] {
  const terms = new Map<string, Term>();
  const add = (text: string | null | undefined, field: keyof typeof FIELD_WEIGHTS, words = true) => {
    if (!text) return;
    const values = [text, ...(words ? (text.match(WORD) ?? []) : [])];
    for (const value of values) {
      const term = normalizeTerm(value);
      if (term.length === 0 || terms.size >= MAX_TERMS) continue;
      const weight = FIELD_WEIGHTS[field];
      const key = `${field}\u0000${term}`;
      if (!terms.has(key)) terms.set(key, { term, field, weight });
    }
  };
  // The whole name and each path component can match exactly (the top rank); words inside a component
  // (`redis` of `redis-operator`) only as name prefixes.
  add(repository, "name", false);
  for (const part of repository.split("/")) {
    add(part, "name", false);
    for (const word of part.match(WORD) ?? []) if (word !== part) add(word, "namepart", false);
  }
  add(facts.title, "title");
  add(facts.description, "description");
  const entries = Object.entries(annotations).slice(0, MAX_ANNOTATIONS);
  for (const [, value] of entries) add(value, "annotation");
  for (const [key, value] of entries) {
    const term = annotationFilterTerm(key, value);
    if (terms.size < MAX_TERMS) terms.set(`${KV_FIELD}\u0000${term}`, { term, field: KV_FIELD, weight: 0 });
  }
  return [...terms.values()];
}
