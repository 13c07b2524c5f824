import type { Logger } from "pino";
import type { Db } from "../../metadata/database.js";

/**
 * SKELETON on main (the retention engineer fills it in): retention policies (list, add, remove,
 * preview) and applying them — removing tags, never bytes (garbage collection reclaims those).
 */
export class RetentionService {
  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Applies every policy (the scheduled run, before each scheduled collection); audited. */
  async applyAll(actor: string): Promise<void> {
    void this.db;
    void this.log;
    void actor;
  }
}
