import { RegistryError } from "../oci/errors.js";
import { InvalidDigestError, isValidDigest, parseDigest, type ParsedDigest } from "../oci/digest.js";
import { isValidRepositoryName, isValidTag } from "../oci/names.js";

export function requireRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) {
    throw new RegistryError("NAME_INVALID", "invalid repository name", { name: name.slice(0, 300) });
  }
  return name;
}

export function requireDigest(value: string): ParsedDigest {
  try {
    return parseDigest(value);
  } catch (err) {
    if (err instanceof InvalidDigestError) throw new RegistryError("DIGEST_INVALID", err.message);
    throw err;
  }
}

export function requireTag(tag: string): string {
  if (!isValidTag(tag))
    throw new RegistryError("MANIFEST_INVALID", "invalid tag", { tag: tag.slice(0, 200) });
  return tag;
}

export type Reference = { kind: "tag"; tag: string } | { kind: "digest"; digest: ParsedDigest };

/** A manifest reference is a digest when it has an algorithm prefix, otherwise a tag. */
export function isDigestReference(reference: string): boolean {
  return reference.includes(":");
}

/** A reference to store under (PUT): one that is neither a tag nor a digest is refused (400). */
export function parseReference(reference: string): Reference {
  if (isDigestReference(reference)) return { kind: "digest", digest: requireDigest(reference) };
  return { kind: "tag", tag: requireTag(reference) };
}

/**
 * A reference to look up (GET, HEAD, DELETE), or null when it is neither a valid tag nor a valid digest:
 * such a reference names nothing, so it is unknown (404) rather than invalid, as the OCI conformance
 * suite expects.
 */
export function lookupReference(reference: string): Reference | null {
  if (isDigestReference(reference)) {
    return isValidDigest(reference) ? { kind: "digest", digest: parseDigest(reference) } : null;
  }
  return isValidTag(reference) ? { kind: "tag", tag: reference } : null;
}
