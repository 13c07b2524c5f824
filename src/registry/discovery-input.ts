/** Validation of the discovery API's parameters: every one is checked before any query runs. */
import { RegistryError } from "../oci/errors.js";
import { isValidDigest } from "../oci/digest.js";
import { isValidRepositoryName } from "../oci/names.js";
import { SEARCH_TIERS, type SearchCursor } from "../metadata/search-terms.js";
import { annotationFilterTerm, normalizeTerm } from "./search-index.js";

const MAX_QUERY = 200;
export const MAX_ANNOTATION_FILTERS = 8;
const KIND_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A kind filter: empty is none; anything but a kind of the catalogue is refused. */
export function requireKind(
  known: ReadonlyMap<string, unknown>,
  kind: string | undefined,
): string | undefined {
  if (kind === undefined || kind === "") return undefined;
  if (kind.length > 64 || !KIND_ID.test(kind) || !known.has(kind)) {
    throw invalid("unknown kind; see GET /api/v1/kinds", "kind", kind.slice(0, 64));
  }
  return kind;
}

/** A search text, as the prefix its terms are matched by. */
export function requireQuery(q: string): string {
  if (q.length > MAX_QUERY) throw invalid(`q must be at most ${MAX_QUERY} characters`, "q");
  const prefix = normalizeTerm(q);
  // eslint-disable-next-line no-control-regex -- a query is one line of text
  if (/[\u0000-\u001f\u007f]/.test(prefix)) throw invalid("q must not contain control characters", "q");
  if (prefix.length === 0) throw invalid("q must not be empty", "q");
  return prefix;
}

export function requireName(name: string, parameter: string): void {
  if (!isValidRepositoryName(name)) {
    throw new RegistryError("NAME_INVALID", "invalid repository name", {
      parameter,
      name: name.slice(0, 300),
    });
  }
}

export function parseAnnotationFilter(filter: string): string {
  const eq = filter.indexOf("=");
  if (eq <= 0 || filter.length > 512) {
    throw invalid(
      "annotation filters are key=value, at most 512 characters",
      "annotation",
      filter.slice(0, 100),
    );
  }
  return annotationFilterTerm(filter.slice(0, eq), filter.slice(eq + 1));
}

export function encodeCursor(hit: SearchCursor): string {
  return Buffer.from(JSON.stringify([hit.tier, hit.score, hit.repository, hit.digest])).toString("base64url");
}

export function decodeCursor(text: string): SearchCursor {
  try {
    if (text.length > 1024) throw new Error("too long");
    const [tier, score, repository, digest] = JSON.parse(
      Buffer.from(text, "base64url").toString("utf8"),
    ) as unknown[];
    if (
      typeof tier === "number" &&
      Number.isInteger(tier) &&
      tier >= 0 &&
      tier < SEARCH_TIERS.length &&
      typeof score === "number" &&
      Number.isInteger(score) &&
      typeof repository === "string" &&
      isValidRepositoryName(repository) &&
      typeof digest === "string" &&
      isValidDigest(digest)
    ) {
      return { tier, score, repository, digest };
    }
  } catch {
    // Reported below.
  }
  throw invalid("last must be the value from the previous page's Link", "last");
}

export function invalid(message: string, parameter: string, value?: string): RegistryError {
  return new RegistryError(
    "INVALID_REQUEST",
    message,
    value === undefined ? { parameter } : { parameter, value },
  );
}
