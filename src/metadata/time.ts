/** Timestamps are stored as ISO-8601 UTC strings: sortable as text in every SQL dialect. */
export function now(): string {
  return new Date().toISOString();
}
