import type { Db } from "../../metadata/database.js";
import type { BlobStore } from "../../storage/blob-store.js";
import type { SweepContext, SweepPhase } from "./types.js";

/**
 * SKELETON on main (the GC-core engineer fills it in): the phases that reclaim bytes — links no manifest
 * in their repository references, blobs nothing links or references, files the database does not know,
 * and expired upload sessions — each removal a compare-and-swap on the blob's state (see blob-states).
 */
export function blobPhases(db: Db, store: BlobStore): SweepPhase[] {
  void db;
  void store;
  const empty = (name: string): SweepPhase => ({
    name,
    run: async (ctx: SweepContext) => {
      void ctx;
      return { count: 0, bytes: 0, skipped: 0 };
    },
  });
  return [empty("links"), empty("blobs"), empty("orphans"), empty("uploads")];
}
