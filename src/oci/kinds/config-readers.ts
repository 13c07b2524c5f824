import type { ChartFacts, CommonFacts, ModelFacts } from "./facts.js";
import { clip, joined, MAX_LIST } from "./text.js";
import { asObject } from "./view.js";

/** What a kind's own config format adds; annotations, read first, win over it. */
export interface ConfigFacts {
  common?: Partial<CommonFacts>;
  chart?: ChartFacts;
  model?: ModelFacts;
}

const NO_MODEL = {
  name: null,
  version: null,
  family: null,
  architecture: null,
  format: null,
  framework: null,
  paramSize: null,
  precision: null,
  quantization: null,
};

/** Readers of the config formats that carry facts, by kind id. */
export const CONFIG_READERS: Record<string, (config: Record<string, unknown>) => ConfigFacts> = {
  // helm/helm pkg/chart Metadata (Chart.yaml as JSON)
  "helm-chart": (c) => {
    const chart = {
      name: clip(c.name),
      version: clip(c.version),
      appVersion: clip(c.appVersion),
      description: clip(c.description),
    };
    const maintainers = Array.isArray(c.maintainers)
      ? c.maintainers.slice(0, MAX_LIST).map((m) => asObject(m)?.name)
      : null;
    return {
      chart,
      common: {
        title: chart.name,
        version: chart.version,
        description: chart.description,
        url: clip(c.home),
        source: Array.isArray(c.sources) ? clip(c.sources[0]) : null,
        authors: joined(maintainers, ", "),
      },
    };
  },
  // modelpack/model-spec docs/config.md: descriptor{name, version, family, ...}, config{architecture, ...}
  "modelpack-model": (c) => {
    const d = asObject(c.descriptor) ?? {};
    const m = asObject(c.config) ?? {};
    const model: ModelFacts = {
      ...NO_MODEL,
      packaging: "modelpack",
      name: clip(d.name ?? d.title),
      version: clip(d.version),
      family: clip(d.family),
      architecture: clip(m.architecture),
      format: clip(m.format),
      paramSize: clip(m.paramSize),
      precision: clip(m.precision),
      quantization: clip(m.quantization),
    };
    return {
      model,
      common: {
        title: model.name,
        version: model.version,
        description: clip(d.description),
        source: clip(d.sourceURL),
        revision: clip(d.revision),
        licenses: joined(d.licenses, " AND "),
        authors: joined(d.authors, ", "),
        created: clip(d.createdAt),
        url: clip(d.docURL),
      },
    };
  },
  // kitops-ml/kitops pkg/artifact/kitfile.go (KitFile): the Kitfile as JSON, package{...} and model{...}
  "kitops-modelkit": (c) => {
    const p = asObject(c.package) ?? {};
    const m = asObject(c.model) ?? {};
    const model: ModelFacts = {
      ...NO_MODEL,
      packaging: "modelkit",
      name: clip(p.name ?? m.name),
      version: clip(p.version ?? m.version),
      framework: clip(m.framework),
      format: clip(m.format),
    };
    return {
      model,
      common: {
        title: model.name,
        version: model.version,
        description: clip(p.description ?? m.description),
        licenses: clip(p.license ?? m.license),
        authors: joined(p.authors, ", "),
      },
    };
  },
  // ollama/ollama server/images.go ConfigV2: model_format, model_family, model_type (size), file_type
  "ollama-model": (c) => ({
    model: {
      ...NO_MODEL,
      packaging: "ollama",
      family: clip(c.model_family),
      format: clip(c.model_format),
      paramSize: clip(c.model_type),
      quantization: clip(c.file_type),
    },
  }),
};
