import { Fragment } from "preact";
import { Table, type Column } from "../../components/table";
import { bytes, shortDigest } from "../../format";
import { Link, paths } from "../../router";
import type { ArtifactDetail, Descriptor } from "./types";

/** The annotation a layer's file name is in (ORAS, `wharf push`, Helm's charts). */
const TITLE = "org.opencontainers.image.title";

type Layer = NonNullable<ArtifactDetail["layers"]>[number] & { index: number };
type Child = NonNullable<ArtifactDetail["manifests"]>[number];

/** What the manifest holds: an index's platforms, a manifest's layers and config, and its annotations. */
export function Contents({ artifact: a }: { artifact: ArtifactDetail }) {
  const manifests = a.manifests ?? [];
  const layers = (a.layers ?? []).map((layer, index) => ({ ...layer, index }));
  const annotations = Object.entries(a.annotations ?? {}).sort(([x], [y]) => x.localeCompare(y));
  const childColumns: Column<Child>[] = [
    {
      header: "Platform",
      cell: (m) =>
        m.digest ? (
          <Link href={paths.artifact(a.repository, `@${m.digest}`)}>{m.platform ?? "(no platform)"}</Link>
        ) : (
          (m.platform ?? "—")
        ),
    },
    { header: "Media type", class: "wide", cell: (m) => <code>{m.mediaType ?? "—"}</code> },
    { header: "Digest", cell: (m) => <code title={m.digest ?? ""}>{shortDigest(m.digest)}</code> },
    { header: "Size", class: "num", cell: (m) => bytes(m.size) },
  ];
  const layerColumns: Column<Layer>[] = [
    { header: "#", class: "num", cell: (l) => l.index + 1 },
    {
      header: "Layer",
      class: "wide",
      cell: (l) => (
        <>
          {l.annotations?.[TITLE] && <strong class="layer-title">{l.annotations[TITLE]}</strong>}
          <code>{l.mediaType ?? "—"}</code>
        </>
      ),
    },
    { header: "Digest", cell: (l) => <code title={l.digest ?? ""}>{shortDigest(l.digest)}</code> },
    { header: "Size", class: "num", cell: (l) => bytes(l.size) },
  ];
  return (
    <>
      {manifests.length > 0 && (
        <section aria-labelledby="platforms">
          <h2 id="platforms">
            {manifests.some((m) => m.platform) ? "Platforms" : "Manifests"} ({manifests.length})
          </h2>
          <Table columns={childColumns} rows={manifests} rowKey={(m) => `${m.digest}-${m.platform}`} />
        </section>
      )}
      {layers.length > 0 && (
        <section aria-labelledby="layers">
          <h2 id="layers">Layers ({layers.length})</h2>
          <Table columns={layerColumns} rows={layers} rowKey={(l) => `${l.index}`} />
        </section>
      )}
      {a.config && <ConfigFacts config={a.config} />}
      {annotations.length > 0 && (
        <section aria-labelledby="annotations">
          <h2 id="annotations">Annotations</h2>
          <dl class="facts annotations">
            {annotations.map(([key, value]) => (
              <Fragment key={key}>
                <dt>
                  <code>{key}</code>
                </dt>
                <dd>{value}</dd>
              </Fragment>
            ))}
          </dl>
        </section>
      )}
    </>
  );
}

function ConfigFacts({ config }: { config: Descriptor }) {
  return (
    <section aria-labelledby="config">
      <h2 id="config">Config</h2>
      <dl class="facts">
        <dt>Media type</dt>
        <dd>
          <code>{config.mediaType ?? "—"}</code>
        </dd>
        <dt>Digest</dt>
        <dd>
          <code>{config.digest ?? "—"}</code>
        </dd>
        <dt>Size</dt>
        <dd>{bytes(config.size)}</dd>
      </dl>
    </section>
  );
}
