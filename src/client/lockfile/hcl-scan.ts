import { UsageError } from "../errors.js";
import {
  isExactVersion,
  isFullReference,
  isImageValue,
  pinnedText,
  replaceWithin,
  stripScheme,
} from "./classify.js";
import { hclStrings, type HclString } from "./hcl-tokens.js";
import { hasPlaceholder } from "./placeholders.js";
import { lineIndex } from "./positions.js";
import type { FoundRef, Pinned } from "./types.js";

/**
 * Finds the OCI references of an HCL or Terraform/OpenTofu file: module sources
 * `oci://host/repo[//dir]?tag=…` (or `?digest=…`), `helm_release`-style blocks with an `oci://`
 * `repository`, `chart` and `version`, `image = "…"` values and other strings that are full
 * references. Strings with a Terraform template (`${var.x}`) are skipped: they are only known once
 * evaluated. `$${context.KEY}` is Terraform's escape of a literal `${context.KEY}`: it reaches the deploy
 * tool as that placeholder, so it is one here too. An unescaped `${context.KEY}` in what looks like a
 * reference is an error rather than skipped: Terraform would evaluate it (and fail: `context` is no
 * Terraform object), and skipping it would leave the reference silently unlocked.
 */
export function scanHcl(text: string, fileName: string): FoundRef[] {
  const strings = hclStrings(text, fileName);
  const position = lineIndex(text);
  /** Skips a template string, unless the deploy tool's placeholder is in it unescaped. */
  const skip = (s: HclString) => {
    const context = s.interpolations.find((e) => /^[\s~]*context\./.test(e));
    if (context === undefined) return;
    const placeholder = `\${${context}}`;
    const key = /context\.([A-Za-z0-9_-]+)/.exec(context)?.[1] ?? "KEY";
    throw new UsageError(
      `${fileName}:${position(s.start).line}: ${placeholder} in "${s.template}" is not escaped: Terraform would evaluate it as a template of its own; in .tf and .hcl files write the deploy tool's placeholder as $\${context.${key}}`,
    );
  };
  const found: FoundRef[] = [];
  const add = (s: HclString, ref: Omit<FoundRef, "line" | "column" | "path">) => {
    // Like the YAML scanner, point at the reference itself, after any `oci://`.
    const { line, column } = position(s.start + (s.value.startsWith("oci://") ? "oci://".length : 0));
    const path = [...s.blocks, ...(s.key ? [s.key] : [])].filter(Boolean).join(".");
    found.push({ line, column, path, ...ref });
  };
  const consumed = new Set<HclString>();

  // helm_release and the like: repository + chart + version in one block.
  const byBlock = new Map<string, Map<string, HclString>>();
  for (const s of strings) {
    if (!s.key) continue;
    const block = s.blocks.join("\u0000");
    const fields = byBlock.get(block) ?? new Map<string, HclString>();
    fields.set(s.key, s);
    byBlock.set(block, fields);
  }
  for (const fields of byBlock.values()) {
    const repository = fields.get("repository");
    const chart = fields.get("chart");
    if (!repository?.template.startsWith("oci://") || !chart) continue;
    const version = fields.get("version");
    const parts = [repository, chart, ...(version ? [version] : [])];
    for (const s of parts) consumed.add(s);
    if (parts.some((s) => s.dynamic)) {
      parts.filter((s) => s.dynamic).forEach(skip); // a templated version is no version: not `latest`
      continue;
    }
    const base = `${stripScheme(repository.value).replace(/\/+$/, "")}/${chart.value.split("/").pop() as string}`;
    const pin = version && within(text, version, version.value, (p) => (p.tag ?? "").replaceAll("_", "+"));
    if (!version) add(repository, { reference: base });
    else if (isExactVersion(version.value))
      add(repository, {
        reference: `${base}:${version.value.replaceAll("+", "_")}`,
        ...(pin ? { pin } : {}),
      });
    else add(repository, { reference: base, range: version.value, helm: true, ...(pin ? { pin } : {}) });
  }

  for (const s of strings) {
    if (consumed.has(s)) continue;
    if (s.dynamic) {
      if (looksLikeReference(s.template, s.key)) skip(s);
    } else if (s.value.startsWith("oci://")) add(s, ociSource(text, s));
    else if ((s.key === "image" && isImageValue(s.value)) || isFullReference(s.value)) {
      const reference = s.value.trim();
      const pin = within(text, s, reference, (p) => pinnedText(reference, p));
      add(s, { reference, ...(pin ? { pin } : {}) });
    }
  }
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** What the scanner takes for a reference when it is a literal: an `oci://` URL, an `image`, a full one. */
function looksLikeReference(value: string, key: string | undefined): boolean {
  return value.startsWith("oci://") || (key === "image" && isImageValue(value)) || isFullReference(value);
}

/**
 * `oci://host/repo[//subdir][?tag=v1|?digest=sha256:…]`, OpenTofu's module source address (a Helm-style
 * `oci://host/repo:tag` also works). OpenTofu takes a tag or a digest, not both: pinning replaces
 * `tag=v1` with `digest=sha256:…` (the lock file keeps the tag).
 */
function ociSource(text: string, s: HclString): Omit<FoundRef, "line" | "column" | "path"> {
  const body = s.value.slice("oci://".length);
  const q = body.indexOf("?");
  const address = (q < 0 ? body : body.slice(0, q)).replace(/(?<=[^/])\/\/.*$/, "");
  const query = new URLSearchParams(q < 0 ? "" : body.slice(q + 1));
  const tag = query.get("tag");
  const digest = query.get("digest");
  const reference = `${address}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
  let pin: FoundRef["pin"];
  if (digest) pin = within(text, s, `digest=${digest}`, (p) => `digest=${p.digest}`);
  else if (tag) pin = within(text, s, `tag=${tag}`, (p) => `digest=${p.digest}`);
  else if (q < 0 && s.key === "source" && !hasPlaceholder(address)) {
    const end = s.end;
    pin = (p) => ({ start: end, end, text: `?digest=${p.digest}` });
  } else if (q < 0) pin = within(text, s, address, (p) => pinnedText(address, p));
  return { reference, ...(pin ? { pin } : {}) };
}

function within(text: string, s: HclString, needle: string, make: (p: Pinned) => string): FoundRef["pin"] {
  return replaceWithin(text, s.start, s.end, needle, make);
}
