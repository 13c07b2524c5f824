import { pino } from "pino";
import type { Db } from "../metadata/database.js";
import { NotFoundError, UsageError } from "../client/errors.js";
import { AuditLog } from "../registry/audit.js";
import { openBootstrapDatabase } from "./commands/admin/user.js";

/** What an admin command given --data-dir or --server-config works with: the registry's own database. */
export interface LocalAdmin {
  db: Db;
  /** Records an audit event as the `local` actor (the CLI on the registry's machine). */
  record(action: string, target: string, detail: Record<string, unknown>): Promise<void>;
  /** Runs a change, turning the domain's input errors into the exits the admin API's 400/404 give. */
  checked<T>(work: () => Promise<T>): Promise<T>;
}

/** A domain error carrying whether the input was invalid, missing or in conflict. */
interface KindedError extends Error {
  kind: "invalid" | "not_found" | "conflict";
}

/**
 * `wharf immutable|trust … --data-dir DIR` (or --server-config): straight in the registry's database,
 * the way to manage a registry without accounts (whose admin API is off). The server's own code, like
 * the bootstrap `wharf user add --data-dir`; running servers follow through the change counters.
 */
export async function withLocalAdmin(
  options: { dataDir?: string; serverConfig?: string },
  isDomainError: (err: unknown) => err is KindedError,
  work: (local: LocalAdmin) => Promise<void>,
): Promise<void> {
  const db = await openBootstrapDatabase(options);
  const audit = new AuditLog(db, pino({ level: "silent" }));
  try {
    await work({
      db,
      record: (action, target, detail) =>
        audit.record({
          actor: "local",
          client: "cli",
          action,
          target,
          detail: { ...detail, via: "data-dir" },
        }),
      // Input errors exit 2, a missing rule or key 3, as through the API.
      checked: async (change) => {
        try {
          return await change();
        } catch (err) {
          if (isDomainError(err) && err.kind === "not_found") throw new NotFoundError(err.message);
          if (isDomainError(err)) throw new UsageError(err.message);
          throw err;
        }
      },
    });
  } finally {
    await db.destroy();
  }
}
