import { useState } from "preact/hooks";
import { api } from "../../api";
import { Confirm } from "../../components/confirm";
import { Table } from "../../components/table";
import { Empty, ErrorBox, Spinner } from "../../components/status";
import { shortDigest } from "../../format";
import { AddForm, Field, Loaded, seg, useAdminList, When, words } from "./common";

/** GET /api/v1/retention. */
interface Rules {
  keepLast?: { count: number; by: "pushed" | "version" };
  keepTags?: string[];
  keepRegex?: string;
  keepWithin?: string;
  removeSigned?: boolean;
}
interface Policy {
  name: string;
  repositories: string;
  rules: Rules;
  createdBy: string;
  createdAt: string;
}

/** POST /api/v1/retention/preview. */
interface Decision {
  tag: string;
  digest: string;
  decision: "keep" | "remove";
  reason: string;
}
interface Preview {
  repositories: { repository: string; policies: string[]; decisions: Decision[]; skipped?: string }[];
  remove: number;
  keep: number;
  truncated: boolean;
}
/** POST /api/v1/retention/apply. */
interface Applied {
  removedCount: number;
  kept: number;
  left: { repository: string; tag: string; why: string }[];
}

function describe(rules: Rules): string {
  const parts: string[] = [];
  if (rules.keepLast) parts.push(`keep the last ${rules.keepLast.count} by ${rules.keepLast.by}`);
  if (rules.keepTags?.length) parts.push(`keep tags ${rules.keepTags.join(", ")}`);
  if (rules.keepRegex) parts.push(`keep tags matching /${rules.keepRegex}/`);
  if (rules.keepWithin) parts.push(`keep what was pushed or pulled within ${rules.keepWithin}`);
  parts.push(rules.removeSigned ? "signed ones may go" : "signed ones are kept");
  return parts.join("; ");
}

/** What would go under one stored policy (or all of them), and applying exactly that. */
function PreviewPanel({ name, onApplied }: { name: string | undefined; onApplied(): void }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const [applied, setApplied] = useState<Applied | null>(null);
  const scope = name === undefined ? "every policy" : `policy ${name}`;
  const run = async () => {
    setBusy(true);
    setError(undefined);
    setApplied(null);
    try {
      setPreview(await api.post<Preview>("/api/v1/retention/preview", name === undefined ? {} : { name }));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const removals =
    preview?.repositories.flatMap((r) =>
      r.decisions
        .filter((d) => d.decision === "remove")
        .map((d) => ({ repository: r.repository, tag: d.tag, digest: d.digest })),
    ) ?? [];
  const repositories = new Set(removals.map((r) => r.repository)).size;
  return (
    <div class="preview">
      <button type="button" onClick={run} disabled={busy}>
        {busy ? "Previewing…" : `Preview ${scope}`}
      </button>
      {busy && <Spinner label="Judging every tag…" />}
      {error && <ErrorBox error={error} />}
      {applied && (
        <p role="status">
          Removed {applied.removedCount} tag(s), kept {applied.kept}
          {applied.left.length ? `, left ${applied.left.length} that changed meanwhile` : ""}. The bytes go at
          the next garbage collection.
        </p>
      )}
      {preview && (
        <>
          <p role="status">
            Under {scope}: {preview.remove} tag(s) would be removed, {preview.keep} kept
            {preview.truncated ? " (the listing is cut short; the counts are whole)" : ""}.
          </p>
          {preview.repositories.length > 0 && (
            <Table
              caption="What would go, and why"
              rows={preview.repositories.flatMap((r) =>
                r.skipped
                  ? [
                      {
                        repository: r.repository,
                        tag: "—",
                        digest: "",
                        decision: "skipped",
                        reason: r.skipped,
                      },
                    ]
                  : r.decisions.map((d) => ({ repository: r.repository, ...d })),
              )}
              rowKey={(d) => `${d.repository}:${d.tag}`}
              columns={[
                { header: "Repository", cell: (d) => d.repository },
                { header: "Tag", cell: (d) => <code>{d.tag}</code> },
                { header: "Digest", cell: (d) => (d.digest ? <code>{shortDigest(d.digest)}</code> : "—") },
                {
                  header: "Decision",
                  cell: (d) => (
                    <span
                      class={`badge ${d.decision === "remove" ? "bad" : d.decision === "keep" ? "ok" : "warn"}`}
                    >
                      {d.decision}
                    </span>
                  ),
                },
                { header: "Why", cell: (d) => d.reason },
              ]}
            />
          )}
          {preview.remove > 0 && (
            <Confirm
              action="Apply now"
              danger
              onConfirm={async () => {
                // The plan: only what the preview showed goes (a tag moved since is left alone).
                const body = {
                  ...(name === undefined ? {} : { name }),
                  ...(preview.truncated ? {} : { plan: removals }),
                };
                setApplied(await api.post<Applied>("/api/v1/retention/apply", body));
                setPreview(null);
                onApplied();
              }}
            >
              <p>
                Remove <strong>{preview.remove} tag(s)</strong> in {repositories} repositor
                {repositories === 1 ? "y" : "ies"} under {scope}, keeping {preview.keep}. The tags are deleted
                at once; the manifests and bytes they named go at the next garbage collection.
                {preview.truncated
                  ? " The preview was cut short: what the policies judge removable when applied goes."
                  : " Only the tags listed go: one that moved since is left."}
              </p>
            </Confirm>
          )}
        </>
      )}
    </div>
  );
}

export function RetentionSection() {
  const list = useAdminList<Policy>("/api/v1/retention", "policies");
  const [name, setName] = useState("");
  const [repositories, setRepositories] = useState("");
  const [keepLast, setKeepLast] = useState("");
  const [by, setBy] = useState<"pushed" | "version">("pushed");
  const [keepTags, setKeepTags] = useState("");
  const [keepRegex, setKeepRegex] = useState("");
  const [keepWithin, setKeepWithin] = useState("");
  /** The stored policy to preview; "" for every policy. */
  const [previewOf, setPreviewOf] = useState("");
  const [removeSigned, setRemoveSigned] = useState(false);
  const rules: Rules = {
    ...(keepLast.trim() ? { keepLast: { count: Number(keepLast), by } } : {}),
    ...(words(keepTags).length ? { keepTags: words(keepTags) } : {}),
    ...(keepRegex.trim() ? { keepRegex: keepRegex.trim() } : {}),
    ...(keepWithin.trim() ? { keepWithin: keepWithin.trim() } : {}),
    ...(removeSigned ? { removeSigned: true } : {}),
  };
  return (
    <>
      <h2>Policies</h2>
      <Loaded list={list}>
        {(policies) =>
          policies.length === 0 ? (
            <Empty>No retention policies: every tag is kept.</Empty>
          ) : (
            <Table
              caption="Retention policies"
              rows={policies}
              rowKey={(p) => p.name}
              columns={[
                { header: "Name", cell: (p) => <strong>{p.name}</strong> },
                { header: "Repositories", cell: (p) => <code>{p.repositories}</code> },
                { header: "Rules", class: "wide", cell: (p) => describe(p.rules) },
                { header: "Added", cell: (p) => <When iso={p.createdAt} /> },
                {
                  header: "",
                  cell: (p) => (
                    <Confirm
                      action={`Remove ${p.name}`}
                      danger
                      onConfirm={async () => {
                        await api.del(`/api/v1/retention/${seg(p.name)}`);
                        list.reload();
                      }}
                    >
                      <p>
                        Remove retention policy <strong>{p.name}</strong>: tags in{" "}
                        <code>{p.repositories}</code> are no longer removed by it (no tag is removed now).
                      </p>
                    </Confirm>
                  ),
                },
              ]}
            />
          )
        }
      </Loaded>
      <h2>Preview and apply</h2>
      {(list.data?.length ?? 0) > 0 && (
        <label class="inline-select">
          <span>Preview</span>
          <select value={previewOf} onChange={(e) => setPreviewOf(e.currentTarget.value)}>
            <option value="">every policy</option>
            {list.data?.map((p) => (
              <option key={p.name} value={p.name}>
                policy {p.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <PreviewPanel key={previewOf} name={previewOf || undefined} onApplied={list.reload} />
      <AddForm title="Add a policy">
        <Field label="Name" autocomplete="off" value={name} onValue={setName} />
        <Field
          label="Repositories"
          autocomplete="off"
          value={repositories}
          onValue={setRepositories}
          hint="A repository glob: team-a/**"
        />
        <Field
          label="Keep the last"
          inputMode="numeric"
          value={keepLast}
          onValue={setKeepLast}
          hint="How many of the most recent tags to keep (empty: no such rule)"
        />
        <label>
          <span>Most recent by</span>
          <select value={by} onChange={(e) => setBy(e.currentTarget.value as "pushed" | "version")}>
            <option value="pushed">push time</option>
            <option value="version">version order</option>
          </select>
        </label>
        <Field
          label="Keep tags"
          value={keepTags}
          onValue={setKeepTags}
          hint="Tag globs always kept, separated by spaces or commas: release-* latest"
        />
        <Field
          label="Keep matching"
          value={keepRegex}
          onValue={setKeepRegex}
          hint="A regular expression (RE2) the whole tag must match to be kept: v[0-9]+"
        />
        <Field
          label="Keep within"
          value={keepWithin}
          onValue={setKeepWithin}
          hint="Keep what was pushed or pulled within this period: 30d, 12h, 2w"
        />
        <label class="choice">
          <input
            type="checkbox"
            checked={removeSigned}
            onChange={(e) => setRemoveSigned(e.currentTarget.checked)}
          />
          Signed artifacts may be removed too
        </label>
        <div>
          <Confirm
            action="Add policy"
            onConfirm={async () => {
              await api.post("/api/v1/retention", { name, repositories, rules });
              setName("");
              setRepositories("");
              list.reload();
            }}
          >
            <p>
              Add retention policy <strong>{name || "(no name)"}</strong> on{" "}
              <code>{repositories || "(no repositories)"}</code>: {describe(rules)}. Nothing is removed now:
              tags it does not keep go when it is applied (here, or by the scheduled garbage collection).
            </p>
          </Confirm>
        </div>
      </AddForm>
    </>
  );
}
