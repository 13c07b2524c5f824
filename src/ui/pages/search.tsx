import { useState } from "preact/hooks";
import { api, withQuery } from "../api";
import { KindIcon } from "../components/kind-icon";
import { ReadError } from "../components/read-error";
import { PagedTable, type Column } from "../components/table";
import { useDebounced } from "../hooks";
import { Link, navigate, paths, useLocation } from "../router";
import { useKinds } from "./kinds";
import { SignedBadge } from "./repository";
import "./browse.css";

/** A hit as GET /api/v1/search answers it (src/registry/discovery-views.ts SearchResult). */
interface SearchRow {
  repository: string;
  digest: string;
  tags: string[];
  kind: string;
  kindTitle: string;
  iconUrl: string;
  title: string | null;
  version: string | null;
  description: string | null;
  signed: boolean;
  signatures?: { key: string; format: string }[];
}

const columns: Column<SearchRow>[] = [
  {
    header: "Artifact",
    class: "wide",
    cell: (r) => {
      const tag = r.tags[0];
      return (
        <div class="repo-cell">
          <KindIcon url={r.iconUrl} title={r.kindTitle} />
          <div>
            <Link href={paths.artifact(r.repository, tag !== undefined ? `:${tag}` : `@${r.digest}`)}>
              {`${r.repository}${tag !== undefined ? `:${tag}` : ""}`}
            </Link>
            {(r.title || r.description) && (
              <p class="muted">{[r.title, r.description].filter(Boolean).join(" — ")}</p>
            )}
          </div>
        </div>
      );
    },
  },
  { header: "Kind", cell: (r) => r.kindTitle || r.kind },
  { header: "Version", cell: (r) => r.version ?? "—" },
  { header: "Signed", cell: (r) => <SignedBadge row={r} /> },
];

/** `?q=&kind=&annotation=k=v…` with one parameter changed; the search box and filters share the URL. */
function searchHref(q: string, kind: string, annotations: string[]): string {
  return withQuery("/search", { q, kind, annotation: annotations });
}

/**
 * Search as you type: the header's box writes `q` into the URL at every key, the listing asks the
 * server once the text settles (useDebounced) and drops answers to older texts (useAsync).
 */
export function SearchPage() {
  const { query } = useLocation();
  const kinds = useKinds();
  const q = query.get("q") ?? "";
  const kind = query.get("kind") ?? "";
  const annotations = query.getAll("annotation");
  const settled = useDebounced(q, 200);
  const [draft, setDraft] = useState("");
  const [draftError, setDraftError] = useState("");
  const key = annotations.join("\n");
  // The API searches by a text or by annotations; a kind only narrows one of them.
  const anything = settled.trim() !== "" || annotations.length > 0;
  return (
    <section class="browse">
      <h1>Search</h1>
      <div class="filters">
        <div class="field">
          <label for="search-kind">Kind</label>
          <select
            id="search-kind"
            value={kind}
            onChange={(event) =>
              navigate(searchHref(q, event.currentTarget.value, annotations), { replace: true })
            }
          >
            <option value="">All kinds</option>
            {kinds.map((k) => (
              <option value={k.id}>{k.title}</option>
            ))}
          </select>
        </div>
        <form
          onSubmit={(event) => {
            event.preventDefault();
            const text = draft.trim();
            const eq = text.indexOf("=");
            if (eq <= 0) {
              setDraftError("An annotation filter is key=value, e.g. org.opencontainers.image.vendor=acme.");
              return;
            }
            setDraftError("");
            setDraft("");
            if (!annotations.includes(text)) navigate(searchHref(q, kind, [...annotations, text]));
          }}
        >
          <div class="field">
            <label for="search-annotation">Annotation (key=value)</label>
            <input
              id="search-annotation"
              name="annotation"
              value={draft}
              autocomplete="off"
              aria-invalid={draftError ? "true" : undefined}
              aria-describedby={draftError ? "annotation-error" : undefined}
              onInput={(event) => setDraft(event.currentTarget.value)}
            />
          </div>
          <button type="submit">Add filter</button>
        </form>
      </div>
      {draftError && (
        <p id="annotation-error" class="field-error" role="alert">
          {draftError}
        </p>
      )}
      {annotations.length > 0 && (
        <ul class="chips" aria-label="Annotation filters">
          {annotations.map((a) => (
            <li>
              <button
                type="button"
                class="chip"
                aria-label={`Remove filter ${a}`}
                onClick={() =>
                  navigate(
                    searchHref(
                      q,
                      kind,
                      annotations.filter((x) => x !== a),
                    ),
                  )
                }
              >
                {a} ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {anything ? (
        <PagedTable
          columns={columns}
          rowKey={(r) => `${r.repository}@${r.digest}`}
          deps={[settled, kind, key]}
          load={(last, n) =>
            api.page<SearchRow>(
              withQuery("/api/v1/search", { q: settled.trim(), kind, annotation: annotations, n, last }),
              "results",
            )
          }
          empty={settled ? `Nothing matches “${settled}”.` : "Nothing matches these filters."}
          failed={(error) => <ReadError error={error} />}
        />
      ) : (
        <p class="empty">
          Type in the search box to find artifacts by name, title or description, or add an annotation filter.
        </p>
      )}
    </section>
  );
}
