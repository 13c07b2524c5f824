import { RegistryError } from "../oci/errors.js";

/** Page sizes for tag, catalog and referrer listings: bounded so one request cannot ask for everything. */
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

export interface PageRequest {
  limit: number;
  last: string | undefined;
}

/** Reads `n` and `last` from a query; an absent `n` means the default page, a huge one the maximum. */
export function pageRequest(
  n: string | undefined,
  last: string | undefined,
  bounds: { defaultSize: number; maxSize: number } = {
    defaultSize: DEFAULT_PAGE_SIZE,
    maxSize: MAX_PAGE_SIZE,
  },
): PageRequest {
  if (n === undefined || n === "") return { limit: bounds.defaultSize, last: last || undefined };
  if (!/^\d+$/.test(n)) {
    throw new RegistryError("PAGINATION_NUMBER_INVALID", "n must be a non-negative integer", {
      n: n.slice(0, 40),
    });
  }
  return { limit: Math.min(Number(n), bounds.maxSize), last: last || undefined };
}

export interface Page<T> {
  items: T[];
  /** The `last` value for the next page, when there may be more. */
  next: string | undefined;
}

/** Runs a query for one more than the page so the caller knows whether a next page exists. */
export async function fetchPage<T>(
  request: PageRequest,
  query: (last: string | undefined, limit: number) => Promise<T[]>,
  keyOf: (item: T) => string,
): Promise<Page<T>> {
  if (request.limit === 0) return { items: [], next: undefined };
  const rows = await query(request.last, request.limit + 1);
  const items = rows.slice(0, request.limit);
  const lastItem = items.at(-1);
  return { items, next: rows.length > request.limit && lastItem !== undefined ? keyOf(lastItem) : undefined };
}

/**
 * A page of the items `visible` accepts, read in batches after `last` until the page is full or the
 * source ends: a caller's filter never shortens a page that has more to show, and never sees what it hides.
 */
export async function filteredPage<T>(
  request: PageRequest,
  batch: (last: string | undefined, limit: number) => Promise<T[]>,
  keyOf: (item: T) => string,
  visible: ((item: T) => Promise<boolean>) | undefined,
): Promise<Page<T>> {
  if (request.limit === 0) return { items: [], next: undefined };
  const size = Math.max(request.limit + 1, 100);
  const shown: T[] = [];
  let cursor = request.last;
  for (;;) {
    const rows = await batch(cursor, visible ? size : request.limit + 1);
    for (const row of rows) {
      if (shown.length > request.limit) break;
      if (!visible || (await visible(row))) shown.push(row);
    }
    const lastRow = rows.at(-1);
    if (!visible || shown.length > request.limit || !lastRow || rows.length < size) break;
    cursor = keyOf(lastRow);
  }
  const items = shown.slice(0, request.limit);
  const lastItem = items.at(-1);
  return { items, next: shown.length > request.limit && lastItem ? keyOf(lastItem) : undefined };
}
