import type { ByteRange } from "../storage/blob-store.js";

export type RangeRequest = { kind: "none" } | { kind: "range"; range: ByteRange } | { kind: "unsatisfiable" };

/**
 * Parses a single-range `Range: bytes=...` header (RFC 9110). Malformed or multi-range headers are
 * ignored, as the RFC allows, and the whole blob is served.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (!header) return { kind: "none" };
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === "" && match[2] === "")) return { kind: "none" };
  const [, first, last] = match as unknown as [string, string, string];
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", range: { start: Math.max(size - suffix, 0), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return { kind: "none" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", range: { start, end } };
}

/** Parses an upload chunk's `Content-Range: <start>-<end>` (a `bytes ` prefix and `/total` are tolerated). */
export function parseContentRange(header: string | undefined): ByteRange | null | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  return end >= start ? { start, end } : null;
}
