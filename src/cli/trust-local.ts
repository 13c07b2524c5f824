import { TrustError, TrustState } from "../registry/trust/index.js";
import type { TrustAdmin } from "./commands/admin/trust.js";
import { withLocalAdmin } from "./local-admin.js";

/**
 * `wharf trust … --data-dir DIR` (or --server-config): keys and policies straight in the registry's
 * database. Stored signatures are re-checked against a key added this way by the registry itself (at
 * its next start, or at once by running nodes, which see the change counter move).
 */
export async function withLocalTrust(
  options: { dataDir?: string; serverConfig?: string },
  work: (trust: TrustAdmin) => Promise<void>,
): Promise<void> {
  await withLocalAdmin(
    options,
    (err): err is TrustError => err instanceof TrustError,
    async ({ db, record, checked }) => {
      const direct = new TrustState(db);
      await work({
        listKeys: () => direct.listKeys(),
        addKey: async (name, publicKey) => {
          const key = await checked(() => direct.addKey(name, publicKey, "local"));
          await record("trust.key.add", key.name, { fingerprint: key.fingerprint });
          return key;
        },
        removeKey: async (name) => {
          const key = await checked(() => direct.removeKey(name));
          await record("trust.key.remove", key.name, { fingerprint: key.fingerprint });
        },
        listPolicies: () => direct.listPolicies(),
        addPolicy: async (policy) => {
          const added = await checked(() => direct.addPolicy(policy, "local"));
          await record("trust.policy.add", added.name, {
            repositories: added.repositories,
            keys: added.keys,
            mode: added.mode,
          });
          return added;
        },
        removePolicy: async (name) => {
          const removed = await checked(() => direct.removePolicy(name));
          await record("trust.policy.remove", removed.name, {
            repositories: removed.repositories,
            keys: removed.keys,
            mode: removed.mode,
          });
        },
      });
    },
  );
}
