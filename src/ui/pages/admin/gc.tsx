import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { Confirm } from "../../components/confirm";
import { Table } from "../../components/table";
import { Empty, ErrorBox, Spinner } from "../../components/status";
import { bytes, shortDigest } from "../../format";
import { useAsync } from "../../hooks";
import { Loaded, useAdminList, When } from "./common";

/** GET /api/v1/gc and /api/v1/gc/:id (one run, with its progress while running). */
interface Run {
  id: string;
  trigger: "schedule" | "manual";
  dryRun: boolean;
  actor: string;
  status: "running" | "done" | "failed";
  startedAt: string;
  finishedAt: string | null;
  phases: { phase: string; count: number; bytes: number; skipped: number }[];
  count: number;
  bytes: number;
  items: { kind: string; repository?: string; digest?: string; id?: string; bytes: number; reason: string }[];
  truncated: boolean;
  error?: string;
  progress?: { phase: string; done: number; total: number | null; count: number; bytes: number } | null;
}

/** Items of a report shown at once; the rest are counted (a report lists up to 10,000). */
const SHOWN_ITEMS = 200;

function Status({ run }: { run: Run }) {
  const tone = run.status === "done" ? "ok" : run.status === "failed" ? "bad" : "warn";
  return <span class={`badge ${tone}`}>{run.status}</span>;
}

/** Looks at a running run before the page stops polling it (about an hour at 10 s). */
const POLL_LIMIT = 400;

/** One run: polled while it runs, then its report. */
function RunReport({ id, onFinished }: { id: string; onFinished(): void }) {
  const [tick, setTick] = useState(0);
  const run = useAsync(() => api.get<Run>(`/api/v1/gc/${encodeURIComponent(id)}`), [id, tick]);
  const running = run.data?.status === "running";
  // The next look a second after each answer (never two in flight), while the run runs.
  // Slower as the run goes on (1 s, then up to 10 s), not while the tab is hidden, and at most an hour:
  // a run a dead node left "running" is not polled for ever.
  useEffect(() => {
    if (!running || tick > POLL_LIMIT) return;
    const delay = Math.min(1000 * 1.2 ** tick, 10_000);
    const timer = setTimeout(function look() {
      if (document.hidden) {
        timer2 = setTimeout(look, 2000);
        return;
      }
      setTick((t) => t + 1);
    }, delay);
    let timer2: ReturnType<typeof setTimeout> | undefined;
    return () => {
      clearTimeout(timer);
      if (timer2) clearTimeout(timer2);
    };
  }, [run.data]);
  // Over (perhaps already at the first look): the runs list gets the final status and counts.
  useEffect(() => {
    if (run.data && !running) onFinished();
  }, [run.data?.status]);
  if (run.error) return <ErrorBox error={run.error} />;
  if (!run.data) return <Spinner />;
  const r = run.data;
  const progress = r.progress;
  return (
    <section class="gc-report" aria-label={`Run ${r.id}`}>
      <h2>
        {r.dryRun ? "Dry run" : "Run"} of <When iso={r.startedAt} /> <Status run={r} />
      </h2>
      {running && progress && (
        <p role="status">
          {progress.phase}: {progress.done}
          {progress.total === null ? "" : ` of ${progress.total}`} looked at, {progress.count} item(s){" "}
          {r.dryRun ? "would go" : "removed"} ({bytes(progress.bytes)}).
        </p>
      )}
      {r.error && <ErrorBox error={new Error(r.error)} />}
      {!running && (
        <p role="status">
          {r.dryRun
            ? `${r.count} item(s) would be removed, giving back ${bytes(r.bytes)}. Nothing was removed.`
            : `${r.count} item(s) removed, ${bytes(r.bytes)} given back.`}
        </p>
      )}
      <Table
        caption="Phases"
        rows={r.phases}
        rowKey={(p) => p.phase}
        columns={[
          { header: "Phase", cell: (p) => p.phase },
          { header: "Items", class: "num", cell: (p) => p.count },
          { header: "Bytes", class: "num", cell: (p) => bytes(p.bytes) },
          { header: "Skipped", class: "num", cell: (p) => p.skipped },
        ]}
      />
      {r.items.length > 0 && (
        <>
          <h3>Items</h3>
          <Table
            caption={
              r.items.length > SHOWN_ITEMS || r.truncated
                ? `The first ${Math.min(SHOWN_ITEMS, r.items.length)} of ${r.count} items`
                : "Items"
            }
            rows={r.items.slice(0, SHOWN_ITEMS)}
            rowKey={(i) => `${i.kind}:${i.repository ?? ""}:${i.digest ?? i.id ?? ""}`}
            columns={[
              { header: "Kind", cell: (i) => i.kind },
              { header: "Repository", cell: (i) => i.repository ?? "—" },
              {
                header: "Digest or id",
                cell: (i) => <code>{i.digest ? shortDigest(i.digest) : (i.id ?? "—")}</code>,
              },
              { header: "Bytes", class: "num", cell: (i) => bytes(i.bytes) },
              { header: "Why", cell: (i) => i.reason },
            ]}
          />
        </>
      )}
    </section>
  );
}

export function GcSection() {
  const runs = useAdminList<Run>("/api/v1/gc", "runs");
  const [shown, setShown] = useState<string | null>(null);
  const start = async (dryRun: boolean) => {
    const run = await api.post<Run>("/api/v1/gc", { dryRun });
    setShown(run.id);
    runs.reload();
  };
  return (
    <>
      <div class="row-actions">
        <Confirm action="Start a dry run" onConfirm={() => start(true)}>
          <p>
            Start a dry run of garbage collection: it reports what a real run would remove (untagged manifests
            if configured, unreferenced blobs and links, stale uploads) and <strong>removes nothing</strong>.
          </p>
        </Confirm>
        <Confirm action="Start garbage collection" danger onConfirm={() => start(false)}>
          <p>
            Start garbage collection now: <strong>what nothing references is deleted for good</strong> from
            the registry's storage (blobs, links, manifests no tag names if configured, stale uploads), once
            untouched for the grace period. Only one run goes at a time.
          </p>
        </Confirm>
      </div>
      {shown && <RunReport key={shown} id={shown} onFinished={runs.reload} />}
      <h2>Recent runs</h2>
      <Loaded list={runs}>
        {(list) =>
          list.length === 0 ? (
            <Empty>No garbage collection has run yet.</Empty>
          ) : (
            <Table
              caption="Recent runs"
              rows={list}
              rowKey={(r) => r.id}
              columns={[
                { header: "When", cell: (r) => <When iso={r.startedAt} /> },
                { header: "Trigger", cell: (r) => `${r.trigger}${r.actor ? ` (${r.actor})` : ""}` },
                { header: "Dry run", cell: (r) => (r.dryRun ? "yes" : "no") },
                { header: "Status", cell: (r) => <Status run={r} /> },
                { header: "Items", class: "num", cell: (r) => r.count },
                { header: "Bytes", class: "num", cell: (r) => bytes(r.bytes) },
                {
                  header: "",
                  cell: (r) => (
                    <button type="button" onClick={() => setShown(r.id)} aria-pressed={shown === r.id}>
                      Report
                    </button>
                  ),
                },
              ]}
            />
          )
        }
      </Loaded>
    </>
  );
}
