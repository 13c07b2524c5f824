import { useState } from "preact/hooks";
import { api, type Page } from "../../api";
import { Confirm } from "../../components/confirm";
import { PagedTable, Table } from "../../components/table";
import { Empty } from "../../components/status";
import { bytes } from "../../format";
import { useDebounced } from "../../hooks";
import { AddForm, Field, Loaded, seg, useAdminList, When } from "./common";

/** GET /api/v1/quotas. */
interface Quota {
  name: string;
  repositories: string;
  limit: number;
  used: number;
  createdBy: string;
  createdAt: string;
}

/** GET /api/v1/usage: paged by `after` (its `next`). */
interface RepositoryUsage {
  repository: string;
  bytes: number;
  unique: number;
  shared: number;
  blobs: number;
  manifests: number;
}
interface Usage {
  repositories: RepositoryUsage[];
  next?: string;
  total?: { bytes: number; digests: number };
}

function Use({ quota }: { quota: Quota }) {
  const share = quota.limit > 0 ? Math.min(1, quota.used / quota.limit) : 1;
  return (
    <span class="usage">
      <meter min={0} max={1} value={share} low={0.8} high={0.95} optimum={0} aria-hidden="true" />
      {bytes(quota.used)} of {bytes(quota.limit)} ({Math.round(share * 100)} %)
    </span>
  );
}

function UsageTable() {
  const [namespace, setNamespace] = useState("**");
  const settled = useDebounced(namespace, 300);
  const [total, setTotal] = useState<Usage["total"]>();
  const load = async (cursor: string | undefined, size: number): Promise<Page<RepositoryUsage>> => {
    const query = new URLSearchParams({ namespace: settled || "**", limit: String(size) });
    if (cursor) query.set("after", cursor);
    const answer = await api.get<Usage>(`/api/v1/usage?${query.toString()}`);
    if (answer.total) setTotal(answer.total);
    return { items: answer.repositories ?? [], next: answer.next };
  };
  return (
    <>
      <form class="filters" aria-label="Usage namespace" onSubmit={(e) => e.preventDefault()}>
        <Field label="Namespace" value={namespace} onValue={setNamespace} hint="A repository glob" />
      </form>
      {total && (
        <p class="muted">
          {bytes(total.bytes)} in {total.digests} digest(s), each counted once.
        </p>
      )}
      <PagedTable
        caption="Usage by repository"
        load={load}
        deps={[settled]}
        rowKey={(r) => r.repository}
        empty="No repositories in this namespace."
        columns={[
          { header: "Repository", cell: (r) => r.repository },
          { header: "Bytes", class: "num", cell: (r) => bytes(r.bytes) },
          { header: "Unique", class: "num", cell: (r) => bytes(r.unique) },
          { header: "Shared", class: "num", cell: (r) => bytes(r.shared) },
          { header: "Blobs", class: "num", cell: (r) => r.blobs },
          { header: "Manifests", class: "num", cell: (r) => r.manifests },
        ]}
      />
    </>
  );
}

export function QuotasSection() {
  const list = useAdminList<Quota>("/api/v1/quotas", "quotas");
  const [name, setName] = useState("");
  const [repositories, setRepositories] = useState("");
  const [limit, setLimit] = useState("");
  return (
    <>
      <Loaded list={list}>
        {(quotas) =>
          quotas.length === 0 ? (
            <Empty>No quotas: namespaces may grow without bound.</Empty>
          ) : (
            <Table
              caption="Quotas"
              rows={quotas}
              rowKey={(q) => q.name}
              columns={[
                { header: "Name", cell: (q) => <strong>{q.name}</strong> },
                { header: "Repositories", cell: (q) => <code>{q.repositories}</code> },
                { header: "Used", class: "wide", cell: (q) => <Use quota={q} /> },
                { header: "Added", cell: (q) => <When iso={q.createdAt} /> },
                {
                  header: "",
                  cell: (q) => (
                    <Confirm
                      action={`Remove ${q.name}`}
                      danger
                      onConfirm={async () => {
                        await api.del(`/api/v1/quotas/${seg(q.name)}`);
                        list.reload();
                      }}
                    >
                      <p>
                        Remove quota <strong>{q.name}</strong>: pushes to <code>{q.repositories}</code> are no
                        longer limited to {bytes(q.limit)}, at once, on every node.
                      </p>
                    </Confirm>
                  ),
                },
              ]}
            />
          )
        }
      </Loaded>
      <AddForm title="Add or change a quota">
        <Field label="Name" autocomplete="off" value={name} onValue={setName} />
        <Field
          label="Repositories"
          autocomplete="off"
          value={repositories}
          onValue={setRepositories}
          hint="The namespace, a repository glob: team-a/**"
        />
        <Field
          label="Limit"
          value={limit}
          onValue={setLimit}
          hint='Bytes, or a size such as "10GiB" or "500MB"'
        />
        <div>
          <Confirm
            action="Set quota"
            onConfirm={async () => {
              const numeric = /^\d+$/.test(limit.trim()) ? Number(limit.trim()) : limit.trim();
              await api.post("/api/v1/quotas", { name, repositories, limit: numeric });
              setName("");
              setRepositories("");
              setLimit("");
              list.reload();
            }}
          >
            <p>
              Limit <code>{repositories || "(no repositories)"}</code> to{" "}
              <strong>{limit || "(no limit)"}</strong> as quota {name || "(no name)"} (a quota of that name is
              changed): from now on, on every node, pushes that would take the namespace over it are refused.
              Nothing stored is removed.
            </p>
          </Confirm>
        </div>
      </AddForm>
      <h2>Usage</h2>
      <UsageTable />
    </>
  );
}
