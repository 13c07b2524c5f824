import { api, withQuery } from "../api";
import { CopyCommand } from "../components/copy-button";
import { KindIcon } from "../components/kind-icon";
import { ReadError } from "../components/read-error";
import { PagedTable, type Column } from "../components/table";
import { ago, bytes, exactTime, shortDigest } from "../format";
import { Link, paths } from "../router";
import "./browse.css";

/**
 * An artifact as GET /api/v1/repositories/NAME/artifacts lists it (src/registry/discovery-views.ts
 * ArtifactSummary). `actions` and `signatures` are read defensively: an older server sends neither.
 */
export interface ArtifactRow {
  digest: string;
  tags: string[];
  kind: string;
  kindTitle: string;
  iconUrl: string;
  title: string | null;
  version: string | null;
  description: string | null;
  size: number;
  pushedAt: string;
  lastPulled: string | null;
  pullCount: number;
  signed: boolean;
  signatures?: { key: string; format: string }[];
  actions?: { label: string; command: string }[];
}

/** "Signed" with the keys that signed in its title, or "Unsigned". */
export function SignedBadge({ row }: { row: Pick<ArtifactRow, "signed" | "signatures"> }) {
  if (!row.signed) return <span class="badge">Unsigned</span>;
  const keys = [...new Set((row.signatures ?? []).map((s) => s.key))];
  const title = keys.length > 0 ? `Signed by ${keys.join(", ")}` : "Signed by a trusted key";
  return (
    <span class="badge ok" title={title}>
      Signed
      <span class="visually-hidden">{` (${title})`}</span>
    </span>
  );
}

function columnsOf(repository: string): Column<ArtifactRow>[] {
  return [
    {
      header: "Reference",
      class: "wide reference",
      cell: (a) => {
        const [first, ...more] = a.tags;
        return (
          <>
            {first !== undefined && <Link href={paths.artifact(repository, `:${first}`)}>{first}</Link>}
            {more.length > 0 && <span class="muted">{` ${more.join(", ")}`}</span>}
            <Link class="digest mono" href={paths.artifact(repository, `@${a.digest}`)} title={a.digest}>
              {shortDigest(a.digest)}
            </Link>
            {a.title && a.title !== first && <p class="muted">{a.title}</p>}
          </>
        );
      },
    },
    {
      header: "Kind",
      cell: (a) => (
        <span class="kind-cell">
          <KindIcon url={a.iconUrl} size={20} />
          {a.kindTitle || a.kind}
        </span>
      ),
    },
    { header: "Version", cell: (a) => a.version ?? "—" },
    { header: "Size", class: "num", cell: (a) => bytes(a.size) },
    { header: "Pushed", cell: (a) => <time title={exactTime(a.pushedAt)}>{ago(a.pushedAt)}</time> },
    {
      header: "Pulled",
      cell: (a) =>
        a.pullCount > 0 ? (
          <span title={exactTime(a.lastPulled)}>{`${a.pullCount}× · ${ago(a.lastPulled)}`}</span>
        ) : (
          "never"
        ),
    },
    { header: "Signed", cell: (a) => <SignedBadge row={a} /> },
    {
      header: "Actions",
      class: "actions-cell",
      cell: (a) =>
        Array.isArray(a.actions) && a.actions.length > 0 ? (
          <div class="actions">
            {a.actions.map((action) => (
              <div>
                <span class="action-label">{action.label}</span>
                <CopyCommand command={action.command} label="Copy" />
              </div>
            ))}
          </div>
        ) : null,
    },
  ];
}

/** The seed's registry listing for one repository: a row per artifact, paged. */
export function RepositoryPage({ repository }: { repository: string }) {
  return (
    <section class="browse">
      <h1 class="break">{repository}</h1>
      <PagedTable
        columns={columnsOf(repository)}
        rowKey={(a) => a.digest}
        deps={[repository]}
        load={(last, n) =>
          api.page<ArtifactRow>(
            withQuery(`/api/v1/repositories/${encodePath(repository)}/artifacts`, { n, last }),
            "artifacts",
          )
        }
        empty="This repository holds no artifacts."
        failed={(error) => (
          <ReadError error={error} notFound={`Repository ${repository} not found (or not yours to see).`} />
        )}
      />
    </section>
  );
}

/** A repository name in a URL path: each segment escaped, the slashes kept. */
export function encodePath(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}
