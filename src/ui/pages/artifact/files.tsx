import { useRef, useState } from "preact/hooks";
import { api } from "../../api";
import { ErrorBox, Spinner } from "../../components/status";
import { Table, type Column } from "../../components/table";
import { bytes } from "../../format";
import { useAsync } from "../../hooks";
import { LazyDetails } from "./lazy-details";
import { artifactApi, type ArtifactDetail, type FileContent, type FileList } from "./types";

/** The files of a chart people read first, as tabs. */
const CHART_FILES = ["values.yaml", "README.md", "Chart.yaml"];

type Entry = FileList["files"][number];

/**
 * The files the artifact's layers hold, read on demand: nothing is fetched until asked for (the list when
 * a tab or the listing is opened, a file when it is opened), and the server caps each file's text.
 */
export function FilesSection({ artifact: a }: { artifact: ArtifactDetail }) {
  const base = `${artifactApi(a.repository, a.digest)}/files`;
  const listing = useRef<Promise<FileList> | undefined>(undefined);
  // One request for the listing, shared by the tabs and the table.
  const list = () =>
    (listing.current ??= api.get<FileList>(base).catch((err: unknown) => {
      listing.current = undefined; // asked again on the next try
      throw err;
    }));
  const isChart = a.kind.id === "helm-chart";
  return (
    <section aria-labelledby="files">
      <h2 id="files">Files</h2>
      {isChart && <ChartTabs base={base} list={list} />}
      <LazyDetails summary="List the files">{() => <Listing base={base} list={list} />}</LazyDetails>
    </section>
  );
}

function ChartTabs({ base, list }: { base: string; list: () => Promise<FileList> }) {
  const [selected, setSelected] = useState<string | undefined>();
  return (
    <div class="chart-files">
      <div class="tabs" role="group" aria-label="Chart files">
        {CHART_FILES.map((name) => (
          <button
            key={name}
            type="button"
            aria-pressed={selected === name}
            onClick={() => setSelected(selected === name ? undefined : name)}
          >
            {name}
          </button>
        ))}
      </div>
      {selected && <ChartFile key={selected} name={selected} base={base} list={list} />}
    </div>
  );
}

/** A chart's `NAME/values.yaml`: the top-level one (subcharts have their own deeper down). */
function ChartFile({ name, base, list }: { name: string; base: string; list: () => Promise<FileList> }) {
  const found = useAsync(
    async () =>
      (await list()).files
        .filter((f) => f.path === name || f.path.endsWith(`/${name}`))
        .sort((x, y) => x.path.split("/").length - y.path.split("/").length)[0],
    [name],
  );
  if (found.error) return <ErrorBox error={found.error} />;
  if (found.loading) return <Spinner label={`Looking for ${name}…`} />;
  if (!found.data) return <p class="muted">The chart has no {name}.</p>;
  return <FileView base={base} path={found.data.path} />;
}

function Listing({ base, list }: { base: string; list: () => Promise<FileList> }) {
  const files = useAsync(list, []);
  const [opened, setOpened] = useState<string | undefined>();
  if (files.error) return <ErrorBox error={files.error} />;
  if (!files.data) return <Spinner label="Listing the files…" />;
  const columns: Column<Entry>[] = [
    { header: "Path", class: "wide", cell: (f) => <code>{f.path}</code> },
    { header: "Size", class: "num", cell: (f) => bytes(f.size) },
    {
      header: "Contents",
      cell: (f) => (
        <button
          type="button"
          aria-expanded={opened === f.path}
          aria-label={`${opened === f.path ? "Close" : "Open"} ${f.path}`}
          onClick={() => setOpened(opened === f.path ? undefined : f.path)}
        >
          {opened === f.path ? "Close" : "Open"}
        </button>
      ),
    },
  ];
  return (
    <>
      {files.data.files.length === 0 ? (
        <p class="muted">No files.</p>
      ) : (
        <Table columns={columns} rows={files.data.files} rowKey={(f) => f.path} />
      )}
      {files.data.truncated && <p class="muted">The listing is cut short: the artifact holds more files.</p>}
      {opened && <FileView key={opened} base={base} path={opened} />}
    </>
  );
}

/** One file's text, or why it is not shown. */
function FileView({ base, path }: { base: string; path: string }) {
  const url = `${base}/${path.split("/").map(encodeURIComponent).join("/")}`;
  const file = useAsync(() => api.get<FileContent>(url), [url]);
  if (file.error) return <ErrorBox error={file.error} />;
  if (!file.data) return <Spinner label={`Loading ${path}…`} />;
  const f = file.data;
  return (
    <figure class="file">
      <figcaption>
        <code>{f.path}</code> <span class="muted">{bytes(f.size)}</span>
      </figcaption>
      {f.binary || f.text === null ? (
        <p class="muted">Binary file: not shown.</p>
      ) : (
        <>
          <pre tabIndex={0} aria-label={f.path}>
            <code>{f.text}</code>
          </pre>
          {f.truncated && <p class="muted">Truncated at 256 KiB.</p>}
        </>
      )}
    </figure>
  );
}
