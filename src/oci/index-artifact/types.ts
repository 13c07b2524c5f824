/**
 * Wharf's managed index artifact (`<namespace>/index:latest`): an ordinary OCI artifact — an image
 * manifest with artifactType WHARF_INDEX_MEDIA_TYPE, the empty config and one JSON layer — so that any
 * OCI client (skopeo, oras, crane) can copy and read it, and Wharf can list a namespace's artifacts on
 * a registry that knows nothing of kinds.
 */

/** One artifact (one manifest digest of one repository) below the namespace. */
export interface IndexEntry {
  /** Full repository path in the registry, e.g. `team/app`. */
  repository: string;
  /** Tags naming this digest, sorted; an entry without tags is dropped. */
  tags: string[];
  digest: string;
  /** Kind id from the catalogue (src/oci/kinds). */
  kind: string;
  title: string | null;
  version: string | null;
  description: string | null;
  /** ISO 8601 time this entry was last written. */
  updated: string;
}

/** The JSON layer's content. */
export interface IndexDocument {
  /** The format's version: 1. */
  schemaVersion: 1;
  /** The namespace the entries are below; "" for a registry's top level. */
  namespace: string;
  entries: IndexEntry[];
}
