import {
  lacksTag,
  removeDigest,
  removeTag,
  upsertEntry,
  type IndexDocument,
  type IndexEntry,
} from "../../oci/index-artifact/index.js";
import type { IndexChange } from "./update.js";

/**
 * An artifact pushed or tagged. It counts as applied while each of its tags names its digest, or names
 * another digest in an entry written later (a newer push of the same tag wins; retrying must not undo it).
 */
export function upsertChange(entry: IndexEntry): IndexChange {
  return {
    describe: `the entry for ${entry.repository}@${entry.digest}`,
    apply: (doc) => upsertEntry(doc, entry),
    applied: (doc) =>
      entry.tags.every((tag) => {
        const holder = holderOf(doc, entry.repository, tag);
        if (!holder) return false;
        return holder.digest === entry.digest || Date.parse(holder.updated) > Date.parse(entry.updated);
      }),
  };
}

/** A tag removed. */
export function untagChange(repository: string, tag: string): IndexChange {
  return {
    describe: `the removal of ${repository}:${tag}`,
    apply: (doc) => removeTag(doc, repository, tag),
    applied: (doc) => lacksTag(doc, repository, tag),
  };
}

/** A manifest deleted, with every tag of it. */
export function deleteChange(repository: string, digest: string): IndexChange {
  return {
    describe: `the removal of ${repository}@${digest}`,
    apply: (doc) => removeDigest(doc, repository, digest),
    applied: (doc) => !doc.entries.some((e) => e.repository === repository && e.digest === digest),
  };
}

function holderOf(doc: IndexDocument, repository: string, tag: string): IndexEntry | undefined {
  return doc.entries.find((e) => e.repository === repository && e.tags.includes(tag));
}
