import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  BUILTIN_KINDS,
  ICON_NAMES,
  ICON_PALETTE,
  ICON_VIEWBOX,
  KindsError,
  MAX_FACT_LENGTH,
  deriveTitle,
  detectKind,
  extractFacts,
  iconSvg,
  isIconName,
  mergeKinds,
  renderActions,
  validateKinds,
  type Kind,
} from "../../src/oci/kinds/index.js";
import {
  KIND_CASES,
  OCI_CONFIG,
  OCI_EMPTY,
  OCI_INDEX,
  OCI_LAYER,
  desc,
  digest,
  ociManifest,
} from "./kinds-fixtures.js";

const kindById = (id: string): Kind => {
  const kind = BUILTIN_KINDS.find((k) => k.id === id);
  assert.ok(kind, `no built-in kind ${id}`);
  return kind;
};

describe("artifact kind detection", () => {
  for (const c of KIND_CASES) {
    it(`detects ${c.name} as ${c.expect}`, () => {
      const detection = detectKind(c);
      assert.equal(detection.kind.id, c.expect, `decided at stage ${detection.stage}`);
    });
  }

  it("has a realistic manifest for every shipped kind", () => {
    const covered = new Set(KIND_CASES.map((c) => c.expect));
    assert.deepEqual(
      BUILTIN_KINDS.map((k) => k.id).filter((id) => !covered.has(id)),
      [],
    );
  });

  it("needs the config blob for kinds that only show in it, and is an image without it", () => {
    const imgpkg = KIND_CASES.find((c) => c.expect === "imgpkg-bundle")!;
    assert.equal(detectKind({ manifest: imgpkg.manifest }).kind.id, "docker-image");
    assert.equal(detectKind({ manifest: imgpkg.manifest, config: imgpkg.config }).stage, "config");
  });

  it("decides by the earliest stage: artifactType over config, config over layers", () => {
    const helmConfigWithWasmLayer = ociManifest({
      config: desc("application/vnd.cncf.helm.config.v1+json"),
      layers: [desc("application/wasm")],
    });
    assert.equal(detectKind({ manifest: helmConfigWithWasmLayer }).kind.id, "helm-chart");
    const declaredModule = ociManifest({
      artifactType: "application/vnd.opentofu.modulepkg",
      config: desc("application/vnd.cncf.helm.config.v1+json"),
      layers: [],
    });
    const detection = detectKind({ manifest: declaredModule });
    assert.equal(detection.kind.id, "opentofu-module");
    assert.equal(detection.stage, "artifactType");
  });

  it("compares media types without parameters and case", () => {
    const manifest = ociManifest({
      config: desc("Application/VND.cncf.helm.config.v1+json; charset=utf-8"),
      layers: [],
    });
    assert.equal(detectKind({ manifest }).kind.id, "helm-chart");
  });

  it("scans huge layer lists once and still finds the telling layer at the end", () => {
    const layers = Array.from({ length: 20_000 }, () => desc("application/octet-stream", 1));
    layers.push(desc("application/vnd.ollama.image.model", 10));
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      layers,
    };
    assert.equal(detectKind({ manifest }).kind.id, "ollama-model");
  });
});

describe("unknown artifact types", () => {
  it("derives a title from the media type name", () => {
    const cases: [string, string | null][] = [
      ["application/vnd.acme.thing.config.v1+json", "thing"],
      ["application/vnd.acme.katalog.v1", "katalog"],
      ["application/vnd.acme.rocket-engine.layer.v2.tar+gzip", "rocket-engine"],
      ["application/vnd.acme.config.v1+json", "acme"],
      ["application/vnd.oci.image.layer.v1.tar", null],
      ["application/vnd.docker.container.image.v1+json", null],
      ["application/vnd.unknown.config.v1+json", null],
      ["application/octet-stream", null],
      ["not a media type", null],
    ];
    for (const [mediaType, title] of cases) assert.equal(deriveTitle(mediaType), title, mediaType);
  });

  it("accepts an unknown artifactType and titles it from its name", () => {
    const manifest = ociManifest({
      artifactType: "application/vnd.acme.katalog.v1",
      config: { mediaType: OCI_EMPTY, digest: digest(), size: 2 },
      layers: [desc("application/yaml")],
    });
    const detection = detectKind({ manifest });
    assert.equal(detection.kind.id, "artifact");
    assert.equal(detection.title, "katalog");
    assert.equal(detection.derivedFrom, "application/vnd.acme.katalog.v1");
  });

  it("prefers an unknown declared artifactType over the image format it is wrapped in", () => {
    const manifest = ociManifest({
      artifactType: "application/vnd.acme.report.v1",
      config: desc(OCI_CONFIG),
      layers: [desc(OCI_LAYER)],
    });
    assert.equal(detectKind({ manifest }).title, "report");
  });

  it("titles from the config, then the layers, and falls back to generic artifact", () => {
    const byConfig = ociManifest({ config: desc("application/vnd.acme.thing.config.v1+json"), layers: [] });
    assert.equal(detectKind({ manifest: byConfig }).title, "thing");
    const byLayer = ociManifest({
      config: { mediaType: OCI_EMPTY, digest: digest(), size: 2 },
      layers: [desc("text/plain"), desc("application/vnd.acme.widget.layer.v1+tar")],
    });
    assert.equal(detectKind({ manifest: byLayer }).title, "widget");
    const nothing = ociManifest({ config: { mediaType: OCI_EMPTY, digest: digest(), size: 2 }, layers: [] });
    const generic = detectKind({ manifest: nothing });
    assert.deepEqual(
      [generic.kind.id, generic.title, generic.stage],
      ["artifact", "generic artifact", "generic"],
    );
  });

  it("never throws on documents of the wrong shape", () => {
    for (const manifest of [null, "text", 42, [], { layers: "x", config: 7 }]) {
      assert.equal(detectKind({ manifest, config: "not an object", tag: "x" }).kind.id, "artifact");
    }
    assert.equal(detectKind({ manifest: { manifests: [null, 3, { platform: 1 }] } }).kind.id, "image-index");
    assert.deepEqual(extractFacts({ manifest: { manifests: [null, 3, { platform: 1 }] } }).platforms, []);
  });
});

describe("accessories", () => {
  it("places an artifact with a subject under its subject", () => {
    const sbom = KIND_CASES.find((c) => c.name.startsWith("CycloneDX"))!;
    const detection = detectKind(sbom);
    const subject = (sbom.manifest as { subject: { digest: string } }).subject.digest;
    assert.equal(detection.accessory, true);
    assert.equal(detection.refersTo, subject);
  });

  it("places any artifact with a subject under it, even of a kind that is not an accessory", () => {
    const target = digest();
    const chart = ociManifest({
      config: desc("application/vnd.cncf.helm.config.v1+json"),
      layers: [],
      subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: target, size: 1 },
    });
    assert.deepEqual(
      [detectKind({ manifest: chart }).accessory, detectKind({ manifest: chart }).refersTo],
      [true, target],
    );
  });

  it("places cosign .sig, .att and .sbom tags under the digest the tag names", () => {
    const hex = "ab".repeat(32);
    for (const suffix of ["sig", "att", "sbom"]) {
      const c = KIND_CASES.find((k) => k.tag === `sha256-${hex}.${suffix}`)!;
      const detection = detectKind(c);
      assert.equal(detection.accessory, true, suffix);
      assert.equal(detection.refersTo, `sha256:${hex}`, suffix);
    }
  });

  it("detects by the tag convention alone when the layers say nothing", () => {
    const hex = "cd".repeat(32);
    const manifest = ociManifest({ config: desc(OCI_CONFIG), layers: [desc("application/octet-stream")] });
    const detection = detectKind({ manifest, tag: `sha256-${hex}.sig` });
    assert.deepEqual([detection.kind.id, detection.stage], ["cosign-signature", "tag"]);
    assert.equal(detectKind({ manifest, tag: "sha256-short.sig" }).kind.id, "oci-image");
  });

  it("places BuildKit attestations under the image their index names", () => {
    const c = KIND_CASES.find((k) => k.name.startsWith("BuildKit"))!;
    const detection = detectKind(c);
    assert.equal(detection.accessory, true);
    assert.equal(detection.refersTo, `sha256:${"ab".repeat(32)}`);
  });

  it("leaves an accessory kind with nothing to refer to at the top level", () => {
    const manifest = ociManifest({
      artifactType: "application/spdx+json",
      config: { mediaType: OCI_EMPTY, digest: digest(), size: 2 },
      layers: [desc("application/spdx+json")],
    });
    const detection = detectKind({ manifest, tag: "latest" });
    assert.deepEqual(
      [detection.kind.id, detection.accessory, detection.refersTo],
      ["spdx-sbom", false, null],
    );
  });

  it("does not make an ordinary image an accessory", () => {
    const image = KIND_CASES.find((c) => c.expect === "oci-image")!;
    assert.deepEqual([detectKind(image).accessory, detectKind(image).refersTo], [false, null]);
  });
});

describe("artifact facts", () => {
  it("reads an image's annotations, size, layer count and platform", () => {
    const manifest = ociManifest({
      config: desc(OCI_CONFIG, 500),
      layers: [desc(OCI_LAYER, 1000), desc(OCI_LAYER, 2000)],
      annotations: {
        "org.opencontainers.image.title": "api",
        "org.opencontainers.image.description": "The API server",
        "org.opencontainers.image.version": "2.4.0",
        "org.opencontainers.image.source": "https://github.com/acme/api",
        "org.opencontainers.image.revision": "0123abcd",
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.authors": "Acme <dev@acme.example>",
        "org.opencontainers.image.created": "2026-11-30T10:00:00Z",
        "org.opencontainers.image.url": "https://acme.example/api",
      },
    });
    const facts = extractFacts({ manifest, config: { os: "linux", architecture: "arm64", variant: "v8" } });
    assert.deepEqual(
      {
        kind: facts.kind,
        kindTitle: facts.kindTitle,
        title: facts.title,
        description: facts.description,
        version: facts.version,
        source: facts.source,
        revision: facts.revision,
        licenses: facts.licenses,
        authors: facts.authors,
        created: facts.created,
        url: facts.url,
        platforms: facts.platforms,
        size: facts.size,
        layerCount: facts.layerCount,
      },
      {
        kind: "oci-image",
        kindTitle: "OCI image",
        title: "api",
        description: "The API server",
        version: "2.4.0",
        source: "https://github.com/acme/api",
        revision: "0123abcd",
        licenses: "Apache-2.0",
        authors: "Acme <dev@acme.example>",
        created: "2026-11-30T10:00:00Z",
        url: "https://acme.example/api",
        platforms: ["linux/arm64/v8"],
        size: 3500,
        layerCount: 2,
      },
    );
  });

  it("lists an index's platforms without its attestations, and lets its own annotations win", () => {
    const index = KIND_CASES.find((c) => c.name.startsWith("multi-platform"))!;
    const manifest = {
      ...(index.manifest as object),
      annotations: { "org.opencontainers.image.description": "from the index" },
    };
    const child = extractFacts({
      manifest: ociManifest({
        config: desc(OCI_CONFIG, 100),
        layers: [desc(OCI_LAYER, 900)],
        annotations: {
          "org.opencontainers.image.description": "from a child",
          "org.opencontainers.image.version": "9.9",
        },
      }),
    });
    const facts = extractFacts({ manifest, children: [child, child] });
    assert.equal(facts.kind, "image-index");
    assert.deepEqual(facts.platforms, ["linux/amd64", "linux/arm64/v8"]);
    assert.equal(facts.description, "from the index");
    assert.equal(facts.version, "9.9");
    assert.deepEqual([facts.size, facts.layerCount], [2000, 2]);
  });

  it("leaves out of platforms a child whose kind is hidden from them, whatever platform it claims", () => {
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        desc("application/vnd.oci.image.manifest.v1+json", 500, {
          platform: { os: "linux", architecture: "amd64" },
        }),
        desc("application/vnd.oci.image.manifest.v1+json", 500, {
          platform: { os: "linux", architecture: "s390x" },
          annotations: { "vnd.docker.reference.type": "attestation-manifest" },
        }),
        desc("application/vnd.oci.image.manifest.v1+json", 500, {
          platform: { os: "linux", architecture: "ppc64le" },
          artifactType: "application/vnd.in-toto+json",
        }),
      ],
    };
    assert.deepEqual(extractFacts({ manifest }).platforms, ["linux/amd64"]);
  });

  it("reads platforms of an OpenTofu provider index from its children", () => {
    const provider = KIND_CASES.find((c) => c.expect === "opentofu-provider")!;
    assert.deepEqual(extractFacts(provider).platforms, ["linux/amd64", "darwin/arm64"]);
  });

  it("reads a Helm chart's name, version, appVersion and description from its config", () => {
    const chart = KIND_CASES.find((c) => c.expect === "helm-chart")!;
    const facts = extractFacts(chart);
    assert.deepEqual(facts.chart, {
      name: "nginx",
      version: "1.2.3",
      appVersion: "1.27.0",
      description: "A web server",
    });
    assert.equal(facts.created, "2026-11-30T10:00:00Z");
    const bare = extractFacts({
      manifest: { ...(chart.manifest as object), annotations: {} },
      config: chart.config,
    });
    assert.deepEqual([bare.title, bare.version, bare.description], ["nginx", "1.2.3", "A web server"]);
  });

  it("reads a ModelPack model's descriptor and config", () => {
    const facts = extractFacts(KIND_CASES.find((c) => c.expect === "modelpack-model")!);
    assert.deepEqual(facts.model, {
      packaging: "modelpack",
      name: "xyz-3-8B-Instruct",
      version: "3.1",
      family: "xyz3",
      architecture: "transformer",
      format: "pytorch",
      framework: null,
      paramSize: "8b",
      precision: "fp16",
      quantization: "gptq",
    });
    assert.deepEqual(
      [
        facts.title,
        facts.description,
        facts.source,
        facts.revision,
        facts.licenses,
        facts.authors,
        facts.created,
      ],
      [
        "xyz-3-8B-Instruct",
        "xyz is a large language model.",
        "https://github.com/xyz/xyz3",
        "1234567890",
        "Apache-2.0",
        "xyz@xyz.com",
        "2025-01-01T00:00:00Z",
      ],
    );
  });

  it("reads a ModelKit's Kitfile and an Ollama model's config", () => {
    const kit = extractFacts(KIND_CASES.find((c) => c.expect === "kitops-modelkit")!);
    assert.deepEqual(
      [
        kit.model?.packaging,
        kit.model?.name,
        kit.model?.version,
        kit.model?.framework,
        kit.licenses,
        kit.authors,
      ],
      ["modelkit", "qwen3-4b", "1.0", "transformers", "Apache-2.0", "Qwen Team"],
    );
    const ollama = extractFacts(KIND_CASES.find((c) => c.expect === "ollama-model")!);
    assert.deepEqual(
      [ollama.model?.family, ollama.model?.format, ollama.model?.paramSize, ollama.model?.quantization],
      ["llama", "gguf", "3.2B", "Q4_K_M"],
    );
    assert.equal(ollama.layerCount, 4);
  });

  it("names the SBOM format, also of an SBOM carried in an attestation", () => {
    assert.deepEqual(extractFacts(KIND_CASES.find((c) => c.expect === "cyclonedx-sbom")!).sbom, {
      format: "cyclonedx",
    });
    assert.deepEqual(extractFacts(KIND_CASES.find((c) => c.expect === "syft-sbom")!).sbom, {
      format: "syft",
    });
    const buildkit = extractFacts(KIND_CASES.find((c) => c.name.startsWith("BuildKit"))!);
    assert.deepEqual(
      [buildkit.sbom, buildkit.predicateType],
      [{ format: "spdx" }, "https://spdx.dev/Document"],
    );
    const att = extractFacts(KIND_CASES.find((c) => c.name.startsWith("cosign attestation"))!);
    assert.deepEqual([att.sbom, att.predicateType], [null, "https://slsa.dev/provenance/v1"]);
    const image = extractFacts(KIND_CASES.find((c) => c.expect === "oci-image")!);
    assert.deepEqual([image.sbom, image.predicateType], [null, null]);
  });

  it("loses only facts on a bad config, and bounds every string", () => {
    const chart = KIND_CASES.find((c) => c.expect === "helm-chart")!;
    for (const config of ["text", [1, 2], { name: 7, version: { a: 1 } }, null]) {
      const facts = extractFacts({ manifest: chart.manifest, config });
      assert.equal(facts.kind, "helm-chart");
      assert.equal(facts.version, "1.2.3", "the annotation still gives the version");
    }
    const long = "x".repeat(50_000);
    const facts = extractFacts({
      manifest: ociManifest({
        config: desc(OCI_CONFIG),
        layers: [],
        annotations: {
          "org.opencontainers.image.description": long,
          "org.opencontainers.image.title": "bad\u001b[31mtitle\u0007",
        },
      }),
    });
    assert.equal(facts.description?.length, MAX_FACT_LENGTH);
    assert.equal(facts.title, "bad[31mtitle");
  });
});

describe("operator kinds", () => {
  const katalog = {
    id: "acme-katalog",
    title: "Katalog",
    description: "An Orkestra pattern.",
    icon: "catalog",
    detect: { artifactTypes: ["application/vnd.acme.katalog.v1"] },
    actions: [{ label: "Pull", template: "ork registry pull {reference}" }],
  };

  it("adds a kind that detection then finds before the built-in ones", () => {
    const kinds = mergeKinds(BUILTIN_KINDS, validateKinds([katalog], BUILTIN_KINDS));
    const manifest = ociManifest({
      artifactType: "application/vnd.acme.katalog.v1",
      config: { mediaType: OCI_EMPTY, digest: digest(), size: 2 },
      layers: [desc("application/yaml")],
    });
    const detection = detectKind({ manifest, kinds });
    assert.deepEqual([detection.kind.id, detection.title], ["acme-katalog", "Katalog"]);
    assert.deepEqual(
      renderActions(detection.kind, { registry: "r.example", repository: "p/postgres", tag: "v14" }),
      [{ label: "Pull", command: "ork registry pull r.example/p/postgres:v14" }],
    );
    assert.equal(kinds.length, BUILTIN_KINDS.length + 1);
  });

  it("overrides a built-in kind by id, keeping the fields it does not give", () => {
    const [helm] = validateKinds(
      [
        {
          id: "helm-chart",
          actions: [{ label: "Template", template: "helm template oci://{registry}/{repository}" }],
        },
      ],
      BUILTIN_KINDS,
    );
    const kinds = mergeKinds(BUILTIN_KINDS, [helm!]);
    assert.equal(kinds.length, BUILTIN_KINDS.length);
    const merged = kinds.find((k) => k.id === "helm-chart")!;
    assert.equal(merged.title, "Helm chart");
    assert.deepEqual(merged.detect, kindById("helm-chart").detect);
    assert.deepEqual(merged.actions, [
      { label: "Template", template: "helm template oci://{registry}/{repository}" },
    ]);
  });

  it("can change what an unknown artifact offers, through the generic kind's id", () => {
    const overrides = validateKinds(
      [{ id: "artifact", actions: [{ label: "Pull", template: "oras pull {reference}" }] }],
      BUILTIN_KINDS,
    );
    const kinds = mergeKinds(BUILTIN_KINDS, overrides);
    const manifest = ociManifest({ config: desc("application/vnd.acme.thing.config.v1+json"), layers: [] });
    const detection = detectKind({ manifest, kinds });
    assert.equal(detection.title, "thing");
    assert.deepEqual(renderActions(detection.kind, { registry: "r", repository: "x", tag: "1" }), [
      { label: "Pull", command: "oras pull r/x:1" },
    ]);
  });

  it("names the entry and the field of an invalid kind", () => {
    const cases: [unknown, string, string][] = [
      [{ ...katalog, id: "Acme Katalog" }, "kinds[0] (Acme Katalog)", "id"],
      [{ ...katalog, title: undefined }, "kinds[0] (acme-katalog)", "title"],
      [{ ...katalog, title: "two\nlines" }, "kinds[0] (acme-katalog)", "title"],
      [{ ...katalog, colour: "red" }, "kinds[0] (acme-katalog)", "colour"],
      [{ ...katalog, icon: "<svg onload=alert(1)>" }, "kinds[0] (acme-katalog)", "icon"],
      [{ ...katalog, detect: {} }, "kinds[0] (acme-katalog)", "detect"],
      [{ ...katalog, detect: undefined }, "kinds[0] (acme-katalog)", "detect"],
      [
        { ...katalog, detect: { artifactTypes: ["not a type"] } },
        "kinds[0] (acme-katalog)",
        "detect.artifactTypes[0]",
      ],
      [
        { ...katalog, detect: { layerMediaTypes: ["a/*b*"] } },
        "kinds[0] (acme-katalog)",
        "detect.layerMediaTypes[0]",
      ],
      [{ ...katalog, detect: { sniff: ["x"] } }, "kinds[0] (acme-katalog)", "detect.sniff"],
      [
        { ...katalog, detect: { configLabels: { team: 3 } } },
        "kinds[0] (acme-katalog)",
        "detect.configLabels.team",
      ],
      [
        { ...katalog, actions: [{ label: "Pull", template: "ork pull {ref}" }] },
        "kinds[0] (acme-katalog)",
        "actions[0].template",
      ],
      [{ ...katalog, actions: [{ template: "x" }] }, "kinds[0] (acme-katalog)", "actions[0].label"],
      [{ ...katalog, accessory: "yes" }, "kinds[0] (acme-katalog)", "accessory"],
      ["acme", "kinds[0]", "(entry)"],
      [{ ...katalog, id: "a\u001b[2Jb" }, "kinds[0] (a?[2Jb)", "id"],
    ];
    for (const [entry, name, field] of cases) {
      assert.throws(
        () => validateKinds([entry], BUILTIN_KINDS),
        (err: unknown) => err instanceof KindsError && err.entry === name && err.field === field,
        `${name} ${field}`,
      );
    }
    assert.throws(
      () => validateKinds([katalog, katalog], BUILTIN_KINDS),
      (err: unknown) =>
        err instanceof KindsError && err.entry === "kinds[1] (acme-katalog)" && err.field === "id",
    );
    assert.throws(
      () => validateKinds({ katalog }, BUILTIN_KINDS),
      (err: unknown) => err instanceof KindsError && /list/.test(err.message),
    );
  });

  it("says in its message which entry and field are wrong", () => {
    assert.throws(
      () => validateKinds([{ ...katalog, detect: { artifactTypes: ["nope"] } }], BUILTIN_KINDS, "kinds.yaml"),
      /^Error: kinds\.yaml\[0\] \(acme-katalog\): detect\.artifactTypes\[0\]: must be a media type/,
    );
  });
});

describe("action rendering", () => {
  const helm = kindById("helm-chart");

  it("renders with the tag, as the caller addressed the registry", () => {
    assert.deepEqual(
      renderActions(helm, { registry: "127.0.0.1:5000", repository: "charts/nginx", tag: "1.2.3" }),
      [
        { label: "Pull", command: "helm pull oci://127.0.0.1:5000/charts/nginx --version 1.2.3" },
        {
          label: "Install",
          command: "helm install my-release oci://127.0.0.1:5000/charts/nginx --version 1.2.3",
        },
      ],
    );
  });

  it("uses the digest form without a tag, and leaves out what needs a tag", () => {
    const d = `sha256:${"e".repeat(64)}`;
    assert.deepEqual(renderActions(helm, { registry: "r.example", repository: "charts/nginx", digest: d }), [
      { label: "Install", command: `helm install my-release oci://r.example/charts/nginx@${d}` },
    ]);
    const image = renderActions(kindById("oci-image"), {
      registry: "r.example",
      repository: "app",
      digest: d,
    });
    assert.equal(image[0]?.command, `docker run --rm r.example/app@${d}`);
    const tofu = renderActions(kindById("opentofu-module"), {
      registry: "r.example",
      repository: "m",
      digest: d,
    });
    assert.deepEqual(tofu, [
      { label: "Use as module source", command: `source = "oci://r.example/m?digest=${d}"` },
    ]);
  });

  it("fills {subject} for accessories and leaves such actions out without one", () => {
    const sig = kindById("cosign-signature");
    const s = `sha256:${"f".repeat(64)}`;
    assert.deepEqual(renderActions(sig, { registry: "r.example", repository: "app", tag: "x", subject: s }), [
      { label: "Verify", command: `cosign verify --key cosign.pub r.example/app@${s}` },
    ]);
    assert.deepEqual(renderActions(sig, { registry: "r.example", repository: "app", tag: "x" }), []);
  });

  it("substitutes once: values cannot bring placeholders, and other braces stay", () => {
    const kind = { ...kindById("in-toto-attestation") };
    const rendered = renderActions(kind, {
      registry: "r",
      repository: "{tag}",
      tag: "t",
      subject: "sha256:1",
    });
    assert.equal(
      rendered[0]?.command,
      "docker buildx imagetools inspect r/{tag}@sha256:1 --format '{{json .Provenance}}'",
    );
  });

  it("gives every built-in kind at least one action that renders for a tagged artifact", () => {
    for (const kind of BUILTIN_KINDS) {
      const rendered = renderActions(kind, {
        registry: "r.example",
        repository: "team/thing",
        tag: "v1",
        digest: `sha256:${"a".repeat(64)}`,
        subject: `sha256:${"b".repeat(64)}`,
      });
      assert.ok(rendered.length > 0, kind.id);
      for (const action of rendered)
        assert.doesNotMatch(action.command, /\{(registry|repository|tag|digest|reference|subject)\}/);
    }
  });
});

describe("icons", () => {
  it("gives every kind an icon of the set", () => {
    for (const kind of BUILTIN_KINDS) assert.ok(isIconName(kind.icon), `${kind.id}: ${kind.icon}`);
  });

  it("draws every icon as well-formed SVG in the shared frame and palette", () => {
    const palette = new Set<string>(Object.values(ICON_PALETTE));
    for (const name of ICON_NAMES) {
      const svg = iconSvg(name);
      assertWellFormed(svg, name);
      assert.match(
        svg,
        new RegExp(`^<svg xmlns="http://www.w3.org/2000/svg" viewBox="${ICON_VIEWBOX}" `),
        name,
      );
      assert.equal(svg.match(/viewBox=/g)?.length, 1, name);
      for (const [, colour] of svg.matchAll(/(?:fill|stroke)="(#[0-9a-f]+)"/g)) {
        assert.ok(palette.has(colour!), `${name} uses ${colour}`);
      }
      assert.doesNotMatch(svg, /<script|on[a-z]+=|href=/i, name);
    }
    assert.equal(iconSvg("no-such-icon"), iconSvg("artifact"));
  });
});

/** A small XML well-formedness check: balanced tags, quoted attributes, no stray markup. */
function assertWellFormed(svg: string, name: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([a-z]+)((?:\s+[a-zA-Z:-]+="[^"<>]*")*)\s*(\/?)>/y;
  let at = 0;
  while (at < svg.length) {
    if (svg[at] !== "<") {
      const next = svg.indexOf("<", at);
      assert.ok(next > at && svg.slice(at, next).trim() === "", `${name}: text outside elements at ${at}`);
      at = next;
      continue;
    }
    tag.lastIndex = at;
    const m = tag.exec(svg);
    assert.ok(m, `${name}: malformed markup at ${at}: ${svg.slice(at, at + 40)}`);
    const [, closing, element, , selfClosing] = m;
    if (closing) assert.equal(stack.pop(), element, `${name}: </${element}> closes nothing open`);
    else if (!selfClosing) stack.push(element!);
    at = tag.lastIndex;
  }
  assert.deepEqual(stack, [], `${name}: unclosed elements`);
}

// Keep fixtures honest: the shared constants are the real media types.
assert.equal(OCI_INDEX, "application/vnd.oci.image.index.v1+json");
