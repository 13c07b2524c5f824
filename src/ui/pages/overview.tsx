import { api, withQuery } from "../api";
import { PagedTable, type Column } from "../components/table";
import { KindIcon } from "../components/kind-icon";
import { ReadError, signInHref } from "../components/read-error";
import { ago, bytes, exactTime } from "../format";
import { Link, paths, useLocation } from "../router";
import { useSession } from "../session";
import { kindTitle, useKinds, type KindRow } from "./kinds";
import "./browse.css";

/** A repository as GET /api/v1/repositories lists it (src/registry/discovery-views.ts RepositoryView). */
export interface RepositoryRow {
  name: string;
  kinds: string[];
  tagCount: number;
  artifactCount: number;
  size: number;
  lastPush: string | null;
  description: string | null;
}

function columnsOf(kinds: KindRow[]): Column<RepositoryRow>[] {
  return [
    {
      header: "Repository",
      class: "wide",
      cell: (r) => (
        <div class="repo-cell">
          {r.kinds[0] && (
            <KindIcon
              url={`/api/v1/kinds/${encodeURIComponent(r.kinds[0])}/icon.svg`}
              title={kindTitle(kinds, r.kinds[0])}
            />
          )}
          <div>
            <Link href={paths.repository(r.name)}>{r.name}</Link>
            {r.description && <p class="muted">{r.description}</p>}
          </div>
        </div>
      ),
    },
    { header: "Kind", cell: (r) => r.kinds.map((k) => kindTitle(kinds, k)).join(", ") || "—" },
    { header: "Tags", class: "num", cell: (r) => r.tagCount },
    { header: "Size", class: "num", cell: (r) => bytes(r.size) },
    { header: "Last push", cell: (r) => <time title={exactTime(r.lastPush)}>{ago(r.lastPush)}</time> },
  ];
}

/** The kind filter as links (`?kind=`): the URL says what is shown, Back undoes a filter. */
export function KindChips({ kinds, selected, base }: { kinds: KindRow[]; selected: string; base: string }) {
  if (kinds.length === 0) return null;
  const href = (kind: string) => withQuery(base, { kind });
  return (
    <nav class="chips" aria-label="Filter by kind">
      <Link href={href("")} class="chip" aria-current={selected === "" ? "true" : undefined}>
        All kinds
      </Link>
      {kinds.map((k) => (
        <Link href={href(k.id)} class="chip" aria-current={selected === k.id ? "true" : undefined}>
          <KindIcon url={k.iconUrl} size={16} />
          {k.title}
        </Link>
      ))}
    </nav>
  );
}

export function OverviewPage() {
  const { query, path } = useLocation();
  const session = useSession();
  const kinds = useKinds();
  const kind = query.get("kind") ?? "";
  return (
    <section class="browse">
      <h1>Repositories</h1>
      <KindChips kinds={kinds} selected={kind} base="/" />
      {session.authEnabled && !session.user && (
        <p class="muted">
          Showing what anyone may pull. <Link href={signInHref(path, location.search)}>Sign in</Link> to see
          more.
        </p>
      )}
      <PagedTable
        columns={columnsOf(kinds)}
        rowKey={(r) => r.name}
        deps={[kind]}
        load={(last, n) =>
          api.page<RepositoryRow>(
            withQuery("/api/v1/repositories", { n, last, kind: kind || undefined }),
            "repositories",
          )
        }
        empty={
          kind ? `No repository holds a ${kindTitle(kinds, kind)}.` : "No repositories yet: push something."
        }
        failed={(error) => <ReadError error={error} />}
      />
    </section>
  );
}
