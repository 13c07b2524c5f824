import type { Db } from "../../metadata/database.js";
import type { SweepContext, SweepPhase } from "./types.js";

/**
 * SKELETON on main (the GC-operations engineer fills it in): untagged manifests (when gc.untagged is on)
 * and referrers whose subject is gone, removed as a manifest DELETE would remove them.
 */
export function manifestPhase(db: Db, untagged: boolean): SweepPhase {
  void db;
  void untagged;
  return {
    name: "manifests",
    run: async (ctx: SweepContext) => {
      void ctx;
      return { count: 0, bytes: 0, skipped: 0 };
    },
  };
}
