import { parseReference } from "../reference.js";
import { hasPlaceholder, neutralized } from "./placeholders.js";
import type { Edit, Pinned } from "./types.js";

/**
 * `host[:port]/repo:tag` or `…@digest` written out in full: a registry host (with `.` or `:`, or
 * localhost) and a tag or digest, so that paths and URLs without a scheme are not taken for one.
 * Placeholders count as name components.
 */
export function isFullReference(value: string): boolean {
  const text = neutralized(value.trim());
  if (text === "" || /\s|:\/\/|\{\{/.test(text) || !text.includes("/")) return false;
  try {
    const ref = parseReference(text);
    return ref.kind === "registry" && (ref.tag !== undefined || ref.digest !== undefined);
  } catch {
    return false;
  }
}

/** A value `image:` may hold: anything but empty or a Go template (`{{ .Values.image }}`). */
export function isImageValue(value: string): boolean {
  return value.trim() !== "" && !value.includes("{{");
}

export function stripScheme(value: string): string {
  return value.trim().replace(/^oci:\/\//, "");
}

export function isExactVersion(version: string): boolean {
  return /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$/.test(version);
}

/**
 * `host/repo:tag` pinned as `host/repo:tag@sha256:…` (`host/repo` as `host/repo:latest@…`; an existing
 * digest is replaced by the one verified, which is the same one: pinning is idempotent).
 */
export function pinnedText(reference: string, pinned: Pinned): string {
  const at = reference.indexOf("@");
  if (at >= 0) return `${reference.slice(0, at)}@${pinned.digest}`;
  const lastSlash = reference.lastIndexOf("/");
  const hasTag = reference.slice(lastSlash + 1).includes(":");
  return `${reference}${hasTag ? "" : `:${pinned.tag ?? "latest"}`}@${pinned.digest}`;
}

/**
 * The edit replacing `needle` inside the source range [start, end) of one scalar or string, or undefined
 * when the source does not hold it verbatim (an escaped string) or it depends on the context.
 */
export function replaceWithin(
  source: string,
  start: number,
  end: number,
  needle: string,
  text: (pinned: Pinned) => string,
): ((pinned: Pinned) => Edit | undefined) | undefined {
  if (hasPlaceholder(needle)) return undefined;
  const at = source.slice(start, end).indexOf(needle);
  if (at < 0) return undefined;
  return (pinned) => ({ start: start + at, end: start + at + needle.length, text: text(pinned) });
}
