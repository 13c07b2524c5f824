import { isValidDigest } from "../oci/digest.js";
import { isValidRepositoryName, isValidTag } from "../oci/names.js";
import { UsageError } from "./errors.js";

/** A repository in a registry, optionally with a tag and/or a digest (the digest wins when both are given). */
export interface RegistryReference {
  kind: "registry";
  /** host[:port] as the user wrote it, lower-cased. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** An OCI image layout directory (`oci:PATH[:tag][@digest]`). */
export interface LayoutReference {
  kind: "layout";
  path: string;
  tag?: string;
  digest?: string;
}

export type Reference = RegistryReference | LayoutReference;

export interface ParseOptions {
  /**
   * Registry for short names such as `team/app:v1`: `[oci://]host[:port][/namespace]` (the CLI passes
   * the default its resolver chose; see client/defaults). A namespace goes in front of the name.
   */
  defaultRegistry?: string;
}

/**
 * Parses `host[:port]/repo[:tag][@digest]`, `oci://host/repo...` (as Helm and Flux write it) and
 * `oci:PATH[:tag][@digest]`. A first component without `.` or `:` that is not `localhost` is part of
 * the repository, resolved against the default registry.
 */
export function parseReference(input: string, options: ParseOptions = {}): Reference {
  const text = input.trim();
  if (text.startsWith("oci:") && !text.startsWith("oci://")) return parseLayout(text.slice(4), input);
  const body = stripScheme(text, input);
  const { rest, digest } = splitDigest(body, input);
  const { name, tag } = splitTag(rest);
  const { registry, repository } = splitRegistry(name, input, options.defaultRegistry);
  if (!isValidRepositoryName(repository)) {
    throw new UsageError(
      `invalid reference ${quote(input)}: repository ${quote(repository)} must be lower-case path components`,
    );
  }
  if (tag !== undefined && !isValidTag(tag))
    throw new UsageError(`invalid reference ${quote(input)}: bad tag`);
  return { kind: "registry", registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Whether `input` names its registry (or is a layout), so that no default is needed to resolve it. */
export function namesRegistry(input: string): boolean {
  const text = input.trim();
  if (text.startsWith("oci:") && !text.startsWith("oci://")) return true;
  const body = text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = body.indexOf("/");
  return slash > 0 && looksLikeHost(body.slice(0, slash));
}

/** A registry reference only (for commands that cannot work on layouts). */
export function parseRegistryReference(input: string, options: ParseOptions = {}): RegistryReference {
  const ref = parseReference(input, options);
  if (ref.kind !== "registry") throw new UsageError(`${quote(input)} must name a registry repository`);
  return ref;
}

/** `HOST`, `HOST/REPO` or a short `REPO`: what `wharf ls` accepts. */
export function parseLocation(
  input: string | undefined,
  options: ParseOptions = {},
): { registry: string; repository?: string } {
  const text = stripScheme((input ?? "").trim(), input ?? "");
  if (text === "") {
    if (!options.defaultRegistry) throw new UsageError("name a registry, or set WHARF_REGISTRY");
    const { host, namespace } = splitDefault(options.defaultRegistry);
    return { registry: host, ...(namespace ? { repository: namespace } : {}) };
  }
  if (!text.includes("/") && looksLikeHost(text)) return { registry: normalizeHost(text) };
  const ref = parseRegistryReference(text, options);
  if (ref.tag || ref.digest) throw new UsageError(`${quote(input ?? "")} must not have a tag or digest here`);
  return { registry: ref.registry, repository: ref.repository };
}

/**
 * `oci://`, `docker://` and `https://` in front of a reference (as Helm, skopeo and browsers write
 * them) are dropped; `http://` is refused with the form wharf takes, since plain HTTP is a flag here.
 */
function stripScheme(text: string, input: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return text;
  const rest = text.slice(scheme.length + 3);
  if (scheme === "oci" || scheme === "docker" || scheme === "https") return rest;
  const hint = scheme === "http" ? " and --plain-http for a registry without TLS" : "";
  throw new UsageError(
    `${quote(input)}: write references as host[:port]/repository[:tag|@digest] (e.g. ${rest.replace(/\/+$/, "") || "registry.example.com/team/app:v1"})${hint}`,
  );
}

export function formatReference(ref: Reference): string {
  const suffix = `${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
  return ref.kind === "layout" ? `oci:${ref.path}${suffix}` : `${ref.registry}/${ref.repository}${suffix}`;
}

/** `registry/repo` without tag or digest. */
export function repositoryOf(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The digest if known, else the tag, else `latest`: what to ask the registry for. */
export function referenceTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

export function looksLikeHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

function parseLayout(spec: string, input: string): LayoutReference {
  if (spec === "") throw new UsageError(`invalid reference ${quote(input)}: oci: needs a directory`);
  const { rest, digest } = splitDigest(spec, input);
  const { name, tag } = splitTag(rest);
  if (tag !== undefined && !isValidTag(tag))
    throw new UsageError(`invalid reference ${quote(input)}: bad tag`);
  return { kind: "layout", path: name, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * `…@sha256:<hex>` is a digest. `…@v7`, with no algorithm, is tag v7 (as some tools write versions),
 * unless the reference already has a tag.
 */
function splitDigest(text: string, input: string): { rest: string; digest?: string } {
  const at = text.lastIndexOf("@");
  if (at < 0) return { rest: text };
  const digest = text.slice(at + 1);
  const rest = text.slice(0, at);
  if (!digest.includes(":") && isValidTag(digest) && splitTag(rest).tag === undefined)
    return { rest: `${rest}:${digest}` };
  if (!isValidDigest(digest)) throw new UsageError(`invalid reference ${quote(input)}: bad digest`);
  return { rest, digest };
}

/** The tag is after the last `:` only when that colon follows the last `/` (else it is a port). */
function splitTag(text: string): { name: string; tag?: string } {
  const colon = text.lastIndexOf(":");
  if (colon < 0 || colon < text.lastIndexOf("/")) return { name: text };
  return { name: text.slice(0, colon), tag: text.slice(colon + 1) };
}

function splitRegistry(
  name: string,
  input: string,
  defaultRegistry: string | undefined,
): { registry: string; repository: string } {
  const slash = name.indexOf("/");
  const first = slash < 0 ? name : name.slice(0, slash);
  if (slash > 0 && looksLikeHost(first)) {
    const registry = normalizeHost(first);
    const repository = name.slice(slash + 1);
    // Docker Hub's official images live under library/.
    const hub = registry === "docker.io" && !repository.includes("/");
    return { registry, repository: hub ? `library/${repository}` : repository };
  }
  if (!defaultRegistry) {
    throw new UsageError(
      `${quote(input)} names no registry: write it as host[:port]/repository, or set WHARF_REGISTRY`,
    );
  }
  const { host, namespace } = splitDefault(defaultRegistry);
  return { registry: host, repository: namespace ? `${namespace}/${name}` : name };
}

/** `[oci://]host[:port][/namespace]` → host and namespace. */
function splitDefault(text: string): { host: string; namespace: string } {
  const body = text
    .trim()
    .replace(/^(?:https?|oci):\/\//i, "")
    .replace(/\/+$/, "");
  const slash = body.indexOf("/");
  if (slash < 0) return { host: normalizeHost(body), namespace: "" };
  return { host: normalizeHost(body.slice(0, slash)), namespace: body.slice(slash + 1) };
}

function normalizeHost(host: string): string {
  const trimmed = host.replace(/^(?:https?|oci):\/\//, "").replace(/\/+$/, "");
  if (trimmed === "" || /[\s/]/.test(trimmed)) throw new UsageError(`invalid registry host ${quote(host)}`);
  return trimmed.toLowerCase();
}

function quote(value: string): string {
  return JSON.stringify(value);
}
