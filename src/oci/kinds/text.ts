/** Bounds and cleaning for strings read from manifests and configs, which anyone who can push controls. */
import { asString } from "./view.js";

export const MAX_FACT_LENGTH = 1024;
/** Entries read from a list in a config (authors, licenses, maintainers). */
export const MAX_LIST = 32;

export function joined(value: unknown, separator: string): string | null {
  if (!Array.isArray(value)) return clip(value);
  const strings = value.slice(0, MAX_LIST).filter((v): v is string => typeof v === "string" && v.length > 0);
  return strings.length > 0 ? clip(strings.join(separator)) : null;
}

/** A string fact, or null: bounded in length and stripped of control characters other than newline and tab. */
export function clip(value: unknown): string | null {
  const s = asString(value);
  if (s === null) return null;
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  const clean = s.slice(0, MAX_FACT_LENGTH * 2).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
  return clean.length === 0 ? null : clean.slice(0, MAX_FACT_LENGTH);
}
