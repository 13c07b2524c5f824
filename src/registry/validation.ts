import { RegistryError } from "../oci/errors.js";
import { InvalidDigestError, parseDigest, type ParsedDigest } from "../oci/digest.js";
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

export function parseReference(reference: string): Reference {
  if (isDigestReference(reference)) return { kind: "digest", digest: requireDigest(reference) };
  return { kind: "tag", tag: requireTag(reference) };
}
