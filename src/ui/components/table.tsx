import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Page } from "../api";
import { useAsync } from "../hooks";
import { Empty, ErrorBox, Spinner } from "./status";

export interface Column<T> {
  header: string;
  cell(row: T): ComponentChildren;
  /** A class for the column's cells (`num` right-aligns; `wide` lets it take the space). */
  class?: string;
}

interface TableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey(row: T): string;
  caption?: string;
}

/**
 * A plain table; on narrow screens each row becomes a card whose cells carry their column's name
 * (data-label, shown by the stylesheet).
 */
export function Table<T>({ columns, rows, rowKey, caption }: TableProps<T>) {
  return (
    <div class="table-wrap">
      <table>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" class={c.class}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td class={c.class} data-label={c.header}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface PagedTableProps<T> extends Omit<TableProps<T>, "rows"> {
  /** One page from the server, after `cursor` (the API's `last`), of at most `size` rows. */
  load(cursor: string | undefined, size: number): Promise<Page<T>>;
  /** When these change the listing starts again from its first page (a new filter). */
  deps: readonly unknown[];
  pageSize?: number;
  empty: ComponentChildren;
  /** How a failed load shows (a 404 as "not found", say); the server's message by default. */
  failed?(error: Error): ComponentChildren;
}

/**
 * A table over a cursor-paged API listing: only one page is ever in the page (10,000 rows stay as
 * light as 50), Previous goes back through the cursors seen.
 */
export function PagedTable<T>({ load, deps, pageSize = 50, empty, failed, ...table }: PagedTableProps<T>) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setCursors([undefined]), deps);
  const cursor = cursors.at(-1);
  const page = useAsync(() => load(cursor, pageSize), [...deps, cursor, pageSize]);
  if (page.error) return failed ? <>{failed(page.error)}</> : <ErrorBox error={page.error} />;
  if (!page.data) return <Spinner />;
  const { items, next } = page.data;
  if (items.length === 0 && cursors.length === 1) return <Empty>{empty}</Empty>;
  return (
    <div class="paged" aria-busy={page.loading}>
      <Table {...table} rows={items} />
      {(cursors.length > 1 || next !== undefined) && (
        <nav class="pager" aria-label="Pages">
          <button
            type="button"
            disabled={cursors.length === 1 || page.loading}
            onClick={() => setCursors((c) => c.slice(0, -1))}
          >
            Previous
          </button>
          <span>Page {cursors.length}</span>
          <button
            type="button"
            disabled={next === undefined || page.loading}
            onClick={() => setCursors((c) => [...c, next])}
          >
            Next
          </button>
        </nav>
      )}
    </div>
  );
}
