import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  IndexArtifactError,
  MAX_INDEX_ENTRIES,
  buildIndexArtifact,
  emptyIndex,
  indexLayerOf,
  indexRepository,
  namespaceOf,
  parseIndexDocument,
  removeDigest,
  removeTag,
  upsertEntry,
  type IndexEntry,
} from "../../src/oci/index-artifact/index.js";
import { detectKind, WHARF_INDEX_MEDIA_TYPE } from "../../src/oci/kinds/index.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

function entry(
  repository: string,
  digest: string,
  tags: string[],
  extra: Partial<IndexEntry> = {},
): IndexEntry {
  return {
    repository,
    digest,
    tags,
    kind: "helm-chart",
    title: "chart",
    version: "1.0.0",
    description: null,
    updated: "2026-12-01T08:00:00.000Z",
    ...extra,
  };
}

describe("index artifact: namespaces", () => {
  it("puts a repository's index beside it, and a top-level one at the registry's top", () => {
    assert.equal(namespaceOf("team/app"), "team");
    assert.equal(namespaceOf("a/b/c"), "a/b");
    assert.equal(namespaceOf("app"), "");
    assert.equal(indexRepository("team"), "team/index");
    assert.equal(indexRepository(""), "index");
  });
});

describe("index artifact: build and parse", () => {
  it("is an OCI artifact of Wharf's type, with the empty config and one JSON layer, that parses back", () => {
    const doc = upsertEntry(emptyIndex("team"), entry("team/app", D1, ["v1"]));
    const built = buildIndexArtifact(doc);
    const manifest = JSON.parse(built.manifest.bytes.toString()) as {
      mediaType: string;
      artifactType: string;
      config: { mediaType: string; digest: string; size: number };
      layers: { mediaType: string; digest: string; size: number }[];
    };
    assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(manifest.artifactType, WHARF_INDEX_MEDIA_TYPE);
    assert.equal(manifest.config.mediaType, "application/vnd.oci.empty.v1+json");
    assert.equal(manifest.config.digest, built.config.digest);
    assert.equal(manifest.layers.length, 1);
    assert.equal(
      manifest.layers[0]?.digest,
      `sha256:${createHash("sha256").update(built.layer.bytes).digest("hex")}`,
    );
    assert.equal(manifest.layers[0]?.size, built.layer.bytes.length);
    assert.deepEqual(indexLayerOf(built.manifest.bytes), {
      digest: built.layer.digest,
      size: built.layer.size,
      mediaType: WHARF_INDEX_MEDIA_TYPE,
    });
    assert.deepEqual(parseIndexDocument(built.layer.bytes), doc);
    assert.equal(detectKind({ manifest }).kind.id, "wharf-index");
  });

  it("gives the same bytes for the same entries, whatever order they were added in", () => {
    const a = upsertEntry(upsertEntry(emptyIndex("t"), entry("t/b", D1, ["v1"])), entry("t/a", D2, ["v2"]));
    const b = upsertEntry(upsertEntry(emptyIndex("t"), entry("t/a", D2, ["v2"])), entry("t/b", D1, ["v1"]));
    assert.deepEqual(buildIndexArtifact(a).layer.bytes, buildIndexArtifact(b).layer.bytes);
    assert.deepEqual(
      a.entries.map((e) => e.repository),
      ["t/a", "t/b"],
    );
  });

  it("refuses another artifact tagged index:latest", () => {
    const other = Buffer.from(
      JSON.stringify({ schemaVersion: 2, artifactType: "application/vnd.example", layers: [] }),
    );
    assert.throws(
      () => indexLayerOf(other),
      /not a Wharf index: its artifactType is "application\/vnd.example"/,
    );
  });

  it("refuses an oversized layer before reading it, and bad documents with what is wrong", () => {
    const huge = Buffer.from(
      JSON.stringify({
        artifactType: WHARF_INDEX_MEDIA_TYPE,
        layers: [{ mediaType: WHARF_INDEX_MEDIA_TYPE, digest: D1, size: 1024 ** 3 }],
      }),
    );
    assert.throws(() => indexLayerOf(huge), /more than the \d+ allowed/);
    const bad = (doc: unknown) => Buffer.from(JSON.stringify(doc));
    assert.throws(() => parseIndexDocument(Buffer.from("{")), /not JSON/);
    assert.throws(
      () => parseIndexDocument(bad({ schemaVersion: 2, namespace: "", entries: [] })),
      /schemaVersion 2/,
    );
    const tooMany = Array.from({ length: MAX_INDEX_ENTRIES + 1 }, () => ({}));
    assert.throws(
      () => parseIndexDocument(bad({ schemaVersion: 1, namespace: "", entries: tooMany })),
      /entries, more than/,
    );
    assert.throws(
      () =>
        parseIndexDocument(
          bad({ schemaVersion: 1, namespace: "team", entries: [entry("other/app", D1, ["v1"])] }),
        ),
      (err: unknown) =>
        err instanceof IndexArtifactError &&
        /entry 0: repository "other\/app" is not below/.test(err.message),
    );
    assert.throws(
      () =>
        parseIndexDocument(
          bad({ schemaVersion: 1, namespace: "", entries: [entry("app", "sha256:x", ["v1"])] }),
        ),
      /entry 0: digest is invalid/,
    );
    assert.throws(
      () =>
        parseIndexDocument(
          bad({ schemaVersion: 1, namespace: "", entries: [entry("app", D1, ["bad tag"])] }),
        ),
      /entry 0: a tag is invalid/,
    );
  });
});

describe("index artifact: merge", () => {
  it("moves a re-pushed tag to the new digest, keeping the other tags and other repositories", () => {
    let doc = emptyIndex("team");
    doc = upsertEntry(doc, entry("team/app", D1, ["v1", "latest"]));
    doc = upsertEntry(doc, entry("team/other", D1, ["latest"]));
    doc = upsertEntry(doc, entry("team/app", D2, ["latest"], { version: "2" }));
    assert.deepEqual(
      doc.entries.map((e) => [e.repository, e.digest, e.tags]),
      [
        ["team/app", D1, ["v1"]],
        ["team/app", D2, ["latest"]],
        ["team/other", D1, ["latest"]],
      ],
    );
    doc = upsertEntry(doc, entry("team/app", D2, ["v2"], { version: "2" }));
    assert.deepEqual(doc.entries[1]?.tags, ["latest", "v2"]);
  });

  it("drops an entry whose last tag goes, and a deleted digest with all its tags", () => {
    let doc = upsertEntry(emptyIndex(""), entry("app", D1, ["v1", "v2"]));
    doc = upsertEntry(doc, entry("lib", D2, ["v1"]));
    doc = removeTag(doc, "app", "v1");
    assert.deepEqual(doc.entries[0]?.tags, ["v2"]);
    assert.equal(removeTag(doc, "app", "v2").entries.length, 1);
    assert.deepEqual(
      removeDigest(doc, "lib", D2).entries.map((e) => e.repository),
      ["app"],
    );
  });

  it("refuses an entry from outside the namespace", () => {
    assert.throws(() => upsertEntry(emptyIndex("team"), entry("teams/app", D1, ["v1"])), /not below/);
  });
});
