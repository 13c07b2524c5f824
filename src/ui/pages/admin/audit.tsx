import { useState } from "preact/hooks";
import { api, withQuery, type Page } from "../../api";
import { PagedTable } from "../../components/table";
import { useDebounced } from "../../hooks";
import { Field, When } from "./common";

/** GET /api/v1/audit: newest first, paged by `before` (the last event's seq). */
interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  client: string;
  action: string;
  repository: string | null;
  target: string | null;
  outcome: "ok" | "denied" | "failed";
  detail: Record<string, unknown> | null;
}

interface Filters {
  actor: string;
  action: string;
  repository: string;
  since: string;
}

const NONE: Filters = { actor: "", action: "", repository: "", since: "" };

/** The `since` field as the API takes it: a datetime-local value is local time, sent as ISO-8601. */
function sinceParam(value: string): string | undefined {
  if (!value) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

function detailText(detail: Record<string, unknown> | null): string {
  if (!detail) return "";
  return Object.entries(detail)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
}

export function AuditSection() {
  const [filters, setFilters] = useState<Filters>(NONE);
  const settled = useDebounced(filters, 300);
  const set = (key: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [key]: value }));
  const load = async (cursor: string | undefined, size: number): Promise<Page<AuditEvent>> => {
    const { events } = await api.get<{ events?: AuditEvent[] }>(
      withQuery("/api/v1/audit", {
        actor: settled.actor.trim(),
        action: settled.action.trim(),
        repository: settled.repository.trim(),
        since: sinceParam(settled.since),
        before: cursor,
        // One more than shown: whether there is a next page (the API gives no count and no Link).
        limit: size + 1,
      }),
    );
    const items = (events ?? []).slice(0, size);
    const last = items.at(-1);
    return { items, next: (events?.length ?? 0) > size && last ? String(last.seq) : undefined };
  };
  return (
    <>
      <form class="filters" aria-label="Audit filters" onSubmit={(e) => e.preventDefault()}>
        <Field
          label="Actor"
          autocomplete="off"
          value={filters.actor}
          onValue={set("actor")}
          hint="A user or robot"
        />
        <Field
          label="Action"
          autocomplete="off"
          value={filters.action}
          onValue={set("action")}
          hint="manifest.push, login, or a prefix such as token."
        />
        <Field label="Repository" autocomplete="off" value={filters.repository} onValue={set("repository")} />
        <Field label="Since" type="datetime-local" value={filters.since} onValue={set("since")} />
        <div>
          <button type="button" onClick={() => setFilters(NONE)} disabled={filters === NONE}>
            Clear filters
          </button>
        </div>
      </form>
      <PagedTable
        caption="Audit events, newest first"
        load={load}
        deps={[settled.actor, settled.action, settled.repository, settled.since]}
        rowKey={(e) => String(e.seq)}
        empty="No events match."
        columns={[
          { header: "When", cell: (e) => <When iso={e.at} /> },
          { header: "Actor", cell: (e) => e.actor },
          { header: "From", cell: (e) => e.client },
          { header: "Action", cell: (e) => <code class="nowrap">{e.action}</code> },
          { header: "Target", cell: (e) => [e.repository, e.target].filter(Boolean).join(" ") || "—" },
          {
            header: "Outcome",
            cell: (e) => (
              <span class={`badge ${e.outcome === "ok" ? "ok" : e.outcome === "denied" ? "warn" : "bad"}`}>
                {e.outcome}
              </span>
            ),
          },
          {
            header: "Detail",
            class: "wide",
            cell: (e) => <span class="detail">{detailText(e.detail)}</span>,
          },
        ]}
      />
    </>
  );
}
