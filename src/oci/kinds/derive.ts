import { mediaTypeKey } from "./match.js";

/** Trees whose names say nothing about what an artifact is: the container formats and ORAS's placeholder. */
const UNINFORMATIVE_ORGS = new Set(["oci", "docker", "unknown"]);
/** Words that describe the blob's role or encoding rather than the artifact. */
const NOISE = new Set([
  "config",
  "manifest",
  "layer",
  "content",
  "artifact",
  "blob",
  "file",
  "tar",
  "gzip",
  "zstd",
  "json",
  "yaml",
]);
const VERSION_WORD = /^v?\d[a-z0-9-]*$/;

/**
 * A title for an unknown media type, from its name: `application/vnd.<org>.<thing>.config.v1+json` is
 * "thing", `application/vnd.acme.katalog.v1` is "katalog". Null for types that carry no such name
 * (standard trees, the OCI and Docker formats, empty or placeholder configs).
 */
export function deriveTitle(mediaType: string): string | null {
  const key = mediaTypeKey(mediaType);
  const slash = key.indexOf("/");
  if (slash < 0) return null;
  let subtype = key.slice(slash + 1);
  const plus = subtype.indexOf("+");
  if (plus >= 0) subtype = subtype.slice(0, plus);
  const parts = subtype.split(".");
  if (parts[0] !== "vnd" && parts[0] !== "prs" && parts[0] !== "x") return null;
  const org = parts[1];
  if (!org || UNINFORMATIVE_ORGS.has(org)) return null;
  const words = parts.slice(2).filter((w) => w.length > 0 && !NOISE.has(w) && !VERSION_WORD.test(w));
  const title = words.length > 0 ? words.join(" ") : org;
  return title.length > 64 ? title.slice(0, 64) : title;
}
