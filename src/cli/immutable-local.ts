import { pino } from "pino";
import type { ImmutableRuleDto } from "../api/immutable.js";
import { NotFoundError, UsageError } from "../client/errors.js";
import { ImmutableRuleError } from "../registry/immutable/rules.js";
import { ImmutableTags } from "../registry/immutable/service.js";
import { AuditLog } from "../registry/audit.js";
import { openBootstrapDatabase } from "./commands/admin/user.js";
import type { Rules } from "./commands/admin/immutable.js";

/**
 * `wharf immutable … --data-dir DIR` (or --server-config): the rules straight in the registry's database,
 * the way to manage them on a registry without accounts (whose admin API is off). The server's own code,
 * like the bootstrap `wharf user add --data-dir`; running servers follow through the change counter.
 */
export async function withLocalRules(
  options: { dataDir?: string; serverConfig?: string },
  work: (rules: Rules) => Promise<void>,
): Promise<void> {
  const db = await openBootstrapDatabase(options);
  const direct = new ImmutableTags(db);
  const audit = new AuditLog(db, pino({ level: "silent" }));
  const record = (action: string, rule: ImmutableRuleDto) =>
    audit.record({
      actor: "local",
      client: "cli",
      action,
      target: rule.name,
      detail: { repositories: rule.repositories, tags: rule.tags, kind: rule.kind, via: "data-dir" },
    });
  // Rule errors are the caller's input, as the API's 400/404/409 are: exit 2 (3 for a missing rule).
  const checked = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ImmutableRuleError && err.kind === "not_found") throw new NotFoundError(err.message);
      if (err instanceof ImmutableRuleError) throw new UsageError(err.message);
      throw err;
    }
  };
  try {
    await work({
      list: () => direct.list(),
      add: async (rule) => {
        const added = await checked(() => direct.add(rule, "local"));
        await record("immutable.add", added);
        return added;
      },
      remove: async (name) => {
        const removed = await checked(() => direct.remove(name));
        await record("immutable.remove", removed);
      },
    });
  } finally {
    await db.destroy();
  }
}
