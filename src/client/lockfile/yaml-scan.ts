import {
  LineCounter,
  isMap,
  isScalar,
  isSeq,
  parseAllDocuments,
  type Node,
  type Scalar,
  type YAMLMap,
} from "yaml";
import { UsageError } from "../errors.js";
import {
  isExactVersion,
  isFullReference,
  isImageValue,
  pinnedText,
  replaceWithin,
  stripScheme,
} from "./classify.js";
import type { Edit, FoundRef, Pinned } from "./types.js";

/**
 * Finds the OCI references a YAML (multi-document) or JSON file declares: any `oci://…` string, any
 * `image:` string, any other string that is a full reference with a registry host and a tag or digest
 * (`host:5000/x/y@sha256:…`), Helm values' `image: {registry, repository, tag}`, Flux's
 * `url: oci://…` with `ref: {tag|digest|semver}`, and Chart.yaml dependencies with an `oci://`
 * repository. Works on the parsed nodes, whose source ranges say where each reference is written.
 */
export function scanYaml(text: string, fileName: string): FoundRef[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter });
  const scan = new YamlScan(text, lineCounter);
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) {
      const error = doc.errors[0];
      const at = error?.linePos?.[0] ? `:${error.linePos[0].line}` : "";
      throw new UsageError(`${fileName}${at}: not valid YAML or JSON: ${error?.message.split("\n")[0]}`);
    }
    scan.walk(doc.contents, docs.length > 1 ? `[${i}]` : "");
  }
  return scan.found;
}

type Field = { value: string; node: Scalar };

class YamlScan {
  readonly found: FoundRef[] = [];
  constructor(
    private readonly text: string,
    private readonly lines: LineCounter,
  ) {}

  walk(node: Node | null, path: string): void {
    if (isSeq(node)) {
      node.items.forEach((item, i) => this.walk(item as Node, `${path}[${i}]`));
    } else if (isMap(node)) {
      const consumed = this.composite(node, path);
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key === undefined || consumed.has(key)) continue;
        const childPath = path ? `${path}.${key}` : key;
        const child = pair.value as Node | null;
        if (key === "image" && isScalar(child) && typeof child.value === "string") {
          if (isImageValue(child.value)) this.addString(child, child.value, childPath);
        } else this.walk(child, childPath);
      }
    } else if (isScalar(node) && typeof node.value === "string") {
      if (node.value.startsWith("oci://") || isFullReference(node.value))
        this.addString(node, node.value, path);
    }
  }

  /** A scalar whose text is the reference: pinned as `host/repo:tag@sha256:…`. */
  private addString(node: Scalar, value: string, path: string): void {
    const reference = stripScheme(value);
    const pin = this.within(node, reference, (p) => pinnedText(reference, p));
    this.add({ reference, path }, this.offsetOf(node, reference), pin);
  }

  /** Objects whose fields together make one reference; returns the keys it used. */
  private composite(map: YAMLMap, path: string): Set<string> {
    const str = (m: YAMLMap, key: string): Field | undefined => {
      const node = m.get(key, true);
      return isScalar(node) && typeof node.value === "string" ? { value: node.value, node } : undefined;
    };
    const num = (m: YAMLMap, key: string): Field | undefined => {
      const node = m.get(key, true);
      return isScalar(node) && typeof node.value === "number"
        ? { value: String(node.value), node }
        : str(m, key);
    };
    const at = (key: string) => (path ? `${path}.${key}` : key);

    // Flux OCIRepository spec: url + ref.{digest,tag,semver}.
    const url = str(map, "url");
    if (url?.value.startsWith("oci://")) {
      const refNode = map.get("ref", true);
      const ref = isMap(refNode) ? refNode : undefined;
      const base = stripScheme(url.value);
      const offset = this.offsetOf(url.node, base);
      const digest = ref && str(ref, "digest");
      const semver = ref && str(ref, "semver");
      const semverFilter = ref && str(ref, "semverFilter");
      const tag = ref && str(ref, "tag");
      if (digest) {
        const pin = this.within(digest.node, digest.value, (p) => p.digest);
        const reference = `${base}${tag ? `:${tag.value}` : ""}@${digest.value}`;
        this.add({ reference, path: at("url") }, offset, pin);
      } else if (semver) {
        const pin = this.insertDigest(ref, semver.node);
        const filter = semverFilter ? { semverFilter: semverFilter.value } : {};
        this.add({ reference: base, range: semver.value, ...filter, path: at("url") }, offset, pin);
      } else {
        const pin = tag ? this.insertDigest(ref, tag.node) : undefined;
        const reference = tag ? `${base}:${tag.value}` : base;
        this.add({ reference, path: at("url") }, offset, pin);
      }
      return new Set(["url", "ref"]);
    }
    // Chart.yaml dependency (or helmfile release): repository oci://host/path + name/chart + version.
    const repository = str(map, "repository");
    const chart = str(map, "chart") ?? str(map, "name");
    if (repository?.value.startsWith("oci://") && chart) {
      const base = `${stripScheme(repository.value).replace(/\/+$/, "")}/${chart.value.split("/").pop() as string}`;
      const version = num(map, "version");
      const offset = this.offsetOf(repository.node, stripScheme(repository.value));
      const where = { path: at("repository") };
      // A dependency names a version, not a digest: pinning writes the version the range chose.
      const pin = version && this.within(version.node, version.value, (p) => versionOf(p));
      if (!version) this.add({ reference: base, ...where }, offset, undefined);
      else if (isExactVersion(version.value))
        this.add({ reference: `${base}:${version.value.replaceAll("+", "_")}`, ...where }, offset, pin);
      else this.add({ reference: base, range: version.value, helm: true, ...where }, offset, pin);
      return new Set(["repository", "chart", "name", "version"]);
    }
    // Helm values: image: {registry, repository, tag, digest}.
    if (path.endsWith("image") && repository && !repository.value.includes("://")) {
      const registry = str(map, "registry");
      const tag = num(map, "tag");
      const digest = str(map, "digest");
      const name = registry ? `${registry.value}/${repository.value}` : repository.value;
      const reference = `${name}${tag ? `:${tag.value}` : ""}${digest ? `@${digest.value}` : ""}`;
      // The digest goes in `digest:` when the chart has one, else after the tag (`tag: 2.1@sha256:…`).
      const pin = digest
        ? this.within(digest.node, digest.value, (p) => p.digest)
        : tag && this.within(tag.node, tag.value, (p) => `${tag.value.split("@")[0]}@${p.digest}`);
      this.add({ reference, path }, this.offsetOf((registry ?? repository).node, ""), pin);
      return new Set(["registry", "repository", "tag", "digest"]);
    }
    return new Set();
  }

  /** Flux's `ref.digest` wins over tag and semver: pinning adds it under them, in a block map. */
  private insertDigest(ref: YAMLMap, valueNode: Scalar): FoundRef["pin"] {
    if (ref.flow) return undefined;
    const pair = ref.items.find((p) => p.value === valueNode);
    const keyStart = isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
    const valueEnd = valueNode.range?.[1];
    if (keyStart === undefined || valueEnd === undefined) return undefined;
    const lineStart = this.text.lastIndexOf("\n", keyStart - 1) + 1;
    const indent = this.text.slice(lineStart, keyStart);
    if (!/^\s*$/.test(indent)) return undefined;
    let lineEnd = this.text.indexOf("\n", valueEnd);
    if (lineEnd < 0) lineEnd = this.text.length;
    return (p: Pinned): Edit => ({ start: lineEnd, end: lineEnd, text: `\n${indent}digest: ${p.digest}` });
  }

  private within(node: Scalar, needle: string, text: (p: Pinned) => string): FoundRef["pin"] {
    const range = node.range;
    return range ? replaceWithin(this.text, range[0], range[1], needle, text) : undefined;
  }

  /** Where `needle` starts in the node's source (the node's start when it is not there verbatim). */
  private offsetOf(node: Scalar, needle: string): number {
    const range = node.range;
    if (!range) return 0;
    const at = needle ? this.text.slice(range[0], range[1]).indexOf(needle) : -1;
    return range[0] + Math.max(at, 0);
  }

  private add(
    ref: { reference: string; range?: string; semverFilter?: string; helm?: boolean; path: string },
    offset: number,
    pin: FoundRef["pin"] | undefined,
  ): void {
    const { line, col } = this.lines.linePos(offset);
    this.found.push({
      line,
      column: col,
      path: ref.path,
      reference: ref.reference,
      ...(ref.range !== undefined ? { range: ref.range } : {}),
      ...(ref.semverFilter !== undefined ? { semverFilter: ref.semverFilter } : {}),
      ...(ref.helm ? { helm: true } : {}),
      ...(pin ? { pin } : {}),
    });
  }
}

/** The chart version a tag stands for: OCI tags cannot hold `+`, so Helm pushes `1.2.3+b` as `1.2.3_b`. */
function versionOf(pinned: Pinned): string {
  return (pinned.tag ?? "").replaceAll("_", "+");
}
