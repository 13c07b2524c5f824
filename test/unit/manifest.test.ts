import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseManifest } from "../../src/oci/manifest.js";
import { RegistryError } from "../../src/oci/errors.js";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const body = (doc: unknown) => Buffer.from(JSON.stringify(doc));

describe("manifest parsing", () => {
  it("reads an artifact's type, subject and references", () => {
    const info = parseManifest(
      body({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        artifactType: "application/vnd.example.sbom",
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: digest("a"), size: 2 },
        layers: [{ mediaType: "application/json", digest: digest("b"), size: 10 }],
        subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digest("c"), size: 5 },
        annotations: { "org.example": "yes" },
      }),
      "application/vnd.oci.image.manifest.v1+json",
    );
    assert.equal(info.artifactType, "application/vnd.example.sbom");
    assert.equal(info.subject?.digest, digest("c"));
    assert.deepEqual(
      info.blobs.map((d) => d.digest),
      [digest("a"), digest("b")],
    );
    assert.deepEqual(info.annotations, { "org.example": "yes" });
  });

  it("falls back to config.mediaType as the artifact type", () => {
    const info = parseManifest(
      body({
        schemaVersion: 2,
        config: { mediaType: "application/vnd.cncf.helm.config.v1+json", digest: digest("a"), size: 2 },
        layers: [],
      }),
      "application/vnd.oci.image.manifest.v1+json",
    );
    assert.equal(info.artifactType, "application/vnd.cncf.helm.config.v1+json");
  });

  it("skips foreign layers that the registry does not hold", () => {
    const info = parseManifest(
      body({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: digest("a"), size: 2 },
        layers: [
          {
            mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            digest: digest("b"),
            size: 10,
            urls: ["https://example.com/layer"],
          },
        ],
      }),
      undefined,
    );
    assert.deepEqual(
      info.blobs.map((d) => d.digest),
      [digest("a")],
    );
  });

  it("rejects what does not fit the media type", () => {
    const cases: [unknown, string][] = [
      [{ schemaVersion: 1 }, "schemaVersion"],
      [{ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json" }, "manifests"],
      [
        { schemaVersion: 2, config: { mediaType: "x/y", digest: "sha256:zz", size: 1 }, layers: [] },
        "digest",
      ],
      [{ schemaVersion: 2, config: { mediaType: "x/y", digest: digest("a"), size: -1 }, layers: [] }, "size"],
    ];
    for (const [doc, word] of cases) {
      assert.throws(
        () => parseManifest(body(doc), undefined),
        (err: unknown) =>
          err instanceof RegistryError && err.code === "MANIFEST_INVALID" && err.message.includes(word),
        word,
      );
    }
    assert.throws(() => parseManifest(Buffer.from("{not json"), undefined), RegistryError);
  });

  it("rejects a body whose mediaType contradicts the Content-Type", () => {
    assert.throws(
      () =>
        parseManifest(
          body({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] }),
          "application/vnd.oci.image.manifest.v1+json",
        ),
      RegistryError,
    );
  });
});
