/** Keeping `<namespace>/index:latest` current from the client, on registries that do not do it themselves. */
export { readIndex, type ReadIndex } from "./read.js";
export { describeEntry, MAX_CONFIG_READ } from "./entry.js";
export {
  updateIndex,
  IndexUpdateError,
  type IndexChange,
  type UpdateOptions,
  type UpdateResult,
} from "./update.js";
export { deleteChange, untagChange, upsertChange } from "./changes.js";
