import { api, withQuery } from "../api";
import { PagedTable, type Column } from "../components/table";
import { KindIcon } from "../components/kind-icon";
import { ago, bytes, exactTime } from "../format";
import { Link, paths } from "../router";

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

const columns: Column<RepositoryRow>[] = [
  {
    header: "Repository",
    class: "wide",
    cell: (r) => (
      <div class="repo-cell">
        {r.kinds[0] && <KindIcon url={`/api/v1/kinds/${r.kinds[0]}/icon.svg`} title={r.kinds[0]} />}
        <div>
          <Link href={paths.repository(r.name)}>{r.name}</Link>
          {r.description && <p class="muted">{r.description}</p>}
        </div>
      </div>
    ),
  },
  { header: "Tags", class: "num", cell: (r) => r.tagCount },
  { header: "Size", class: "num", cell: (r) => bytes(r.size) },
  { header: "Last push", cell: (r) => <time title={exactTime(r.lastPush)}>{ago(r.lastPush)}</time> },
];

export function OverviewPage() {
  return (
    <section>
      <h1>Repositories</h1>
      <PagedTable
        columns={columns}
        rowKey={(r) => r.name}
        deps={[]}
        load={(last, n) =>
          api.page<RepositoryRow>(withQuery("/api/v1/repositories", { n, last }), "repositories")
        }
        empty="No repositories yet: push something."
      />
    </section>
  );
}
