/**
 * Most values bound in one statement by a batched lookup or insert. Databases cap bound parameters per
 * statement (SQLite 32,766, PostgreSQL 65,535), and a manifest may list tens of thousands of
 * descriptors; a few hundred per statement stays far below every cap at no measurable cost.
 */
export const MAX_BATCH = 500;

/** `items` in consecutive slices of at most `size`. */
export function batches<T>(items: readonly T[], size = MAX_BATCH): T[][] {
  const slices: T[][] = [];
  for (let i = 0; i < items.length; i += size) slices.push(items.slice(i, i + size));
  return slices;
}
