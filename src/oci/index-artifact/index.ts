/** Wharf's managed index artifact: format, parsing and merging. Pure: no HTTP; client and server share it. */
export type { IndexDocument, IndexEntry } from "./types.js";
export {
  buildIndexArtifact,
  indexLayerOf,
  indexRepository,
  isBelow,
  namespaceOf,
  parseIndexDocument,
  IndexArtifactError,
  INDEX_FILE_NAME,
  INDEX_REPOSITORY_NAME,
  INDEX_TAG,
  MAX_ENTRY_TEXT,
  MAX_INDEX_BYTES,
  MAX_INDEX_ENTRIES,
  MAX_TAGS_PER_ENTRY,
  type BuiltIndex,
  type IndexBlob,
} from "./format.js";
export { emptyIndex, lacksTag, removeDigest, removeTag, sortEntries, upsertEntry } from "./merge.js";
