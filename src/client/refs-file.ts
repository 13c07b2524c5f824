import { parseAllDocuments } from "yaml";
import { UsageError } from "./errors.js";
import { parseReference } from "./reference.js";

/** An OCI reference found in a configuration file. */
export interface FoundReference {
  /** host/repo[:tag][@digest]; the tag may be a semver range to resolve against the registry's tags. */
  reference: string;
  /** Set when the version is a range (`^1.2.0`, `>=1 <2`) rather than one tag. */
  range?: string;
  /** Where in the file, for messages: `spec.url`, `dependencies[0]`. */
  path: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Finds the OCI references a YAML (multi-document) or JSON file declares: any `oci://…` string, any
 * `image:` string, any other string that is a full reference with a registry host and a tag or digest
 * (`host:5000/x/y@sha256:…`), Helm values' `image: {registry, repository, tag}`, Flux's
 * `url: oci://…` with `ref: {tag|digest|semver}`, and Chart.yaml dependencies with an `oci://`
 * repository.
 */
export function findReferences(text: string, fileName: string): FoundReference[] {
  const docs = parseAllDocuments(text);
  const found: FoundReference[] = [];
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0)
      throw new UsageError(`${fileName}: not valid YAML or JSON: ${doc.errors[0]?.message}`);
    walk(doc.toJS() as Json, docs.length > 1 ? `[${i}]` : "", found);
  }
  const seen = new Set<string>();
  return found.filter((f) => {
    const key = `${f.reference} ${f.range ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function walk(value: Json, path: string, found: FoundReference[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${path}[${i}]`, found));
    return;
  }
  if (value === null || typeof value !== "object") {
    if (typeof value === "string" && (value.startsWith("oci://") || isFullReference(value)))
      found.push({ reference: strip(value), path });
    return;
  }
  const consumed = composite(value, path, found);
  for (const [key, child] of Object.entries(value)) {
    if (consumed.has(key)) continue;
    const childPath = path ? `${path}.${key}` : key;
    if (key === "image" && typeof child === "string" && child.trim() !== "" && !child.includes("{{")) {
      found.push({ reference: strip(child), path: childPath });
    } else walk(child, childPath, found);
  }
}

/** Objects whose fields together make one reference; returns the keys it used. */
function composite(obj: { [key: string]: Json }, path: string, found: FoundReference[]): Set<string> {
  const str = (key: string) => (typeof obj[key] === "string" ? (obj[key] as string) : undefined);
  const num = (key: string) => (typeof obj[key] === "number" ? String(obj[key]) : str(key));

  // Flux OCIRepository spec: url + ref.{digest,tag,semver}.
  const url = str("url");
  if (url?.startsWith("oci://")) {
    const ref = obj.ref && typeof obj.ref === "object" && !Array.isArray(obj.ref) ? obj.ref : {};
    const base = strip(url);
    const at = path ? `${path}.url` : "url";
    if (typeof ref.digest === "string") found.push({ reference: `${base}@${ref.digest}`, path: at });
    else if (typeof ref.semver === "string") found.push({ reference: base, range: ref.semver, path: at });
    else found.push({ reference: typeof ref.tag === "string" ? `${base}:${ref.tag}` : base, path: at });
    return new Set(["url", "ref"]);
  }
  // Chart.yaml dependency (or helmfile release): repository oci://host/path + name/chart + version.
  const repository = str("repository");
  const chart = str("chart") ?? str("name");
  if (repository?.startsWith("oci://") && chart) {
    const base = `${strip(repository).replace(/\/+$/, "")}/${chart.split("/").pop() as string}`;
    const version = num("version");
    const at = path ? `${path}.repository` : "repository";
    if (!version) found.push({ reference: base, path: at });
    else if (isExactVersion(version))
      found.push({ reference: `${base}:${version.replaceAll("+", "_")}`, path: at });
    else found.push({ reference: base, range: version, path: at });
    return new Set(["repository", "chart", "name", "version"]);
  }
  // Helm values: image: {registry, repository, tag, digest}.
  if (path.endsWith("image") && repository && !repository.includes("://")) {
    const registry = str("registry");
    const tag = num("tag");
    const digest = str("digest");
    const name = registry ? `${registry}/${repository}` : repository;
    found.push({ reference: `${name}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`, path });
    return new Set(["registry", "repository", "tag", "digest"]);
  }
  return new Set();
}

/**
 * `host[:port]/repo:tag` or `…@digest` written out in full: a registry host (with `.` or `:`, or
 * localhost) and a tag or digest, so that paths and URLs without a scheme are not taken for one.
 */
function isFullReference(value: string): boolean {
  const text = value.trim();
  if (text === "" || /\s|:\/\/|\{\{/.test(text) || !text.includes("/")) return false;
  try {
    const ref = parseReference(text);
    return ref.kind === "registry" && (ref.tag !== undefined || ref.digest !== undefined);
  } catch {
    return false;
  }
}

function strip(value: string): string {
  return value.trim().replace(/^oci:\/\//, "");
}

function isExactVersion(version: string): boolean {
  return /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version);
}
