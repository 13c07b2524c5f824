import { QuotaService } from "../registry/quotas/service.js";
import { pino } from "pino";
import { ImmutableTags } from "../registry/immutable/service.js";
import { ManifestService } from "../registry/manifests.js";
import { RetentionError } from "../registry/retention/rules.js";
import { auditDetail, RetentionService } from "../registry/retention/service.js";
import { IndexScope } from "../registry/managed-indexes.js";
import { loadTargetConfig } from "./commands/admin/user.js";
import type { RetentionAdmin } from "./commands/admin/lifecycle/retention.js";
import { withLocalAdmin } from "./local-admin.js";

/**
 * `wharf retention … --data-dir DIR` (or --server-config): policies straight in the registry's database,
 * previewed and applied by the server's own code (tags removed through the tag delete path).
 */
export async function withLocalRetention(
  options: { dataDir?: string; serverConfig?: string },
  work: (retention: RetentionAdmin) => Promise<void>,
): Promise<void> {
  await withLocalAdmin(
    options,
    (err): err is RetentionError => err instanceof RetentionError,
    async ({ db, record, checked }) => {
      const immutable = new ImmutableTags(db);
      const manifests = new ManifestService(db, immutable, new QuotaService(db));
      // The server's managed indexes, from its configuration: a removal marks them in the database, and
      // the running server rebuilds what is marked.
      const scope = new IndexScope((await loadTargetConfig(options)).indexNamespaces);
      manifests.trackIndexes({ namespacesOf: (r) => scope.namespacesOf(r), changed: () => undefined });
      const direct = new RetentionService(db, pino({ level: "silent" }), {
        immutable,
        manifests,
        managesIndex: (repository) => scope.manages(repository),
      });
      await work({
        list: () => direct.list(),
        add: async (policy) => {
          const added = await checked(() => direct.add(policy, "local"));
          await record("retention.add", added.name, { repositories: added.repositories, rules: added.rules });
          return added;
        },
        remove: async (name) => {
          const removed = await checked(() => direct.remove(name));
          await record("retention.remove", removed.name, {
            repositories: removed.repositories,
            rules: removed.rules,
          });
        },
        preview: (selection) => checked(() => direct.preview(selection)),
        apply: async (selection) => {
          const result = await checked(() => direct.apply(selection));
          await record("retention.apply", selection.name ?? "*", auditDetail(result, selection.name));
          return result;
        },
      });
    },
  );
}
