import { ImmutableRuleError } from "../registry/immutable/rules.js";
import { ImmutableTags } from "../registry/immutable/service.js";
import type { Rules } from "./commands/admin/immutable.js";
import { withLocalAdmin } from "./local-admin.js";

/** `wharf immutable … --data-dir DIR` (or --server-config): the rules straight in the registry's database. */
export async function withLocalRules(
  options: { dataDir?: string; serverConfig?: string },
  work: (rules: Rules) => Promise<void>,
): Promise<void> {
  await withLocalAdmin(
    options,
    (err): err is ImmutableRuleError => err instanceof ImmutableRuleError,
    async ({ db, record, checked }) => {
      const direct = new ImmutableTags(db);
      const detail = (rule: { repositories: string; tags: string; kind: string }) => ({
        repositories: rule.repositories,
        tags: rule.tags,
        kind: rule.kind,
      });
      await work({
        list: () => direct.list(),
        add: async (rule) => {
          const added = await checked(() => direct.add(rule, "local"));
          await record("immutable.add", added.name, detail(added));
          return added;
        },
        remove: async (name) => {
          const removed = await checked(() => direct.remove(name));
          await record("immutable.remove", removed.name, detail(removed));
        },
      });
    },
  );
}
