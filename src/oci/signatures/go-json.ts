import type { Descriptor } from "../manifest.js";

/**
 * JSON as Go's encoding/json writes it, for bytes that must equal what cosign (go-containerregistry)
 * produces: no whitespace, object keys in the order given (callers build them in Go's struct order and
 * sort map keys), and `<`, `>`, `&`, U+2028, U+2029 escaped as \u00XX, as Go's HTML-safe default does.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** A Go map[string]string: keys sorted (byte order for these ASCII-range keys), undefined when empty. */
export function goMap(map: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!map || Object.keys(map).length === 0) return undefined;
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(map).sort()) sorted[key] = map[key]!;
  return sorted;
}

/** go-containerregistry's v1.Descriptor field order: mediaType, size, digest, urls, annotations, artifactType. */
export function goDescriptor(d: Descriptor): Record<string, unknown> {
  return {
    mediaType: d.mediaType,
    size: d.size,
    digest: d.digest,
    urls: d.urls && d.urls.length > 0 ? d.urls : undefined,
    annotations: goMap(d.annotations),
    artifactType: d.artifactType || undefined,
  };
}
