import { QuotaError, QuotaService } from "../registry/quotas/service.js";
import { namespaceUsage } from "../registry/quotas/usage.js";
import type { Quotas } from "./commands/admin/lifecycle/quota.js";
import { withLocalAdmin } from "./local-admin.js";

/** `wharf quota|du … --data-dir DIR` (or --server-config): straight in the registry's database. */
export async function withLocalQuotas(
  options: { dataDir?: string; serverConfig?: string },
  work: (quotas: Quotas) => Promise<void>,
): Promise<void> {
  await withLocalAdmin(
    options,
    (err): err is QuotaError => err instanceof QuotaError,
    async ({ db, record, checked }) => {
      const direct = new QuotaService(db);
      await work({
        list: () => direct.list(),
        add: async (input) => {
          const added = await checked(() => direct.add(input, "local"));
          const { quota } = added;
          await record("quota.add", quota.name, {
            repositories: quota.repositories,
            limit: quota.limit,
            used: quota.used,
            ...(added.previousLimit === undefined ? {} : { previousLimit: added.previousLimit }),
          });
          return quota;
        },
        remove: async (name) => {
          const quota = await checked(() => direct.remove(name));
          await record("quota.remove", quota.name, {
            repositories: quota.repositories,
            limit: quota.limit,
            used: quota.used,
          });
        },
        usage: (namespace, after) => checked(() => namespaceUsage(db, namespace, { after, limit: 1000 })),
      });
    },
  );
}
