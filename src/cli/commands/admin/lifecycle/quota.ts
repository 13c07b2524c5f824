import type { Command } from "commander";
import type { QuotaDto, UsageDto } from "../../../../api/quotas.js";
import { humanBytes, parseByteSize } from "../../../../api/byte-sizes.js";
import { UsageError } from "../../../../client/errors.js";
import { withLocalQuotas } from "../../../quota-local.js";
import { examples, runCommand, type Context } from "../../common/context.js";
import { table } from "../../common/format.js";
import { AdminApi } from "../api.js";
import { targetsDatabase, withAdminTarget, type AdminTargetOptions } from "../target.js";

type Options = AdminTargetOptions;

/** Quotas and usage of a running registry (its admin API), or with --data-dir straight in its database. */
export interface Quotas {
  list(): Promise<QuotaDto[]>;
  add(quota: { name: string; repositories: string; limit: number }): Promise<QuotaDto>;
  remove(name: string): Promise<void>;
  /** One page of a namespace's usage (the first carries the total). */
  usage(namespace: string, after: string | undefined): Promise<UsageDto>;
}

export async function quotasFor(
  ctx: Context,
  options: Options,
  work: (quotas: Quotas) => Promise<void>,
): Promise<void> {
  if (!targetsDatabase(options)) {
    const api = AdminApi.for(ctx, options);
    return work({
      list: async () => (await api.call<{ quotas: QuotaDto[] }>("GET", "/quotas")).quotas,
      add: (quota) => api.call<QuotaDto>("POST", "/quotas", quota),
      remove: (name) => api.call("DELETE", `/quotas/${encodeURIComponent(name)}`),
      usage: (namespace, after) => {
        const query = new URLSearchParams({ namespace, limit: "1000", ...(after ? { after } : {}) });
        return api.call<UsageDto>("GET", `/usage?${query.toString()}`);
      },
    });
  }
  return withLocalQuotas(options, work);
}

export function registerQuota(program: Command): void {
  const quota = program
    .command("quota")
    .description("Show and edit byte quotas on namespaces (each blob counted once per namespace)");
  examples(quota, [
    "wharf quota --registry registry.example.com        # list quotas with their usage",
    "wharf quota add team-a 'team-a/**' 10GiB",
    "wharf quota add team-a 'team-a/**' 20GiB           # the same namespace again: a new limit",
    "wharf quota rm team-a",
    "wharf quota ls --data-dir /var/lib/wharf           # a registry without accounts",
  ]);

  const ls = quota.command("ls", { isDefault: true }).description("List the quotas and their usage");
  withAdminTarget(ls);
  ls.action(async (options: Options) => {
    await runCommand(options, async (ctx) => {
      await quotasFor(ctx, options, async (api) => {
        const quotas = await api.list();
        if (ctx.json) return ctx.printJson(quotas);
        ctx.print(
          table([
            ["NAME", "REPOSITORIES", "USED", "LIMIT", "USE%", "BY"],
            ...quotas.map((q) => [
              q.name,
              q.repositories,
              humanBytes(q.used),
              humanBytes(q.limit),
              q.limit === 0 ? "-" : `${Math.floor((100 * q.used) / q.limit)}%`,
              q.createdBy,
            ]),
          ]),
        );
      });
    });
  });

  const add = quota
    .command("add")
    .description("Limit the bytes repositories matching a glob may hold together (or change a limit)")
    .argument("<name>", "the quota's name (refusals name it), e.g. team-a")
    .argument("<repositories>", "repository glob, e.g. 'team-a/**'")
    .argument("<limit>", "bytes, or a size: 10GiB, 500MB (KB/MB/GB/TB decimal, KiB/MiB/GiB/TiB binary)");
  withAdminTarget(add);
  examples(add, ["wharf quota add team-a 'team-a/**' 10GiB", "wharf quota add ci 'ci/**' 500GB"]);
  add.action(async (name: string, repositories: string, limitText: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      const limit = parseByteSize(limitText);
      if (limit === undefined) {
        throw new UsageError(
          `invalid limit ${limitText}: a number of bytes, or a size such as 10GiB or 500MB`,
        );
      }
      await quotasFor(ctx, options, async (api) => {
        const added = await api.add({ name, repositories, limit });
        if (ctx.json) return ctx.printJson(added);
        ctx.print(added.name);
        ctx.note(
          `Quota ${added.name}: ${added.repositories} may hold ${humanBytes(added.limit)}; ` +
            `it holds ${humanBytes(added.used)} (${added.used} bytes)`,
        );
      });
    });
  });

  const rm = quota
    .command("rm")
    .description("Remove a quota (nothing stored is removed)")
    .argument("<name>", "the quota's name (see wharf quota)");
  withAdminTarget(rm);
  examples(rm, ["wharf quota rm team-a --registry registry.example.com"]);
  rm.action(async (name: string, options: Options) => {
    await runCommand(options, async (ctx) => {
      await quotasFor(ctx, options, async (api) => {
        await api.remove(name);
        if (ctx.json) return ctx.printJson({ removed: name });
        ctx.note(`Removed quota ${name}`);
      });
    });
  });
}
