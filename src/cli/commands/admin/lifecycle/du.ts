import type { Command } from "commander";
import type { RepositoryUsageDto } from "../../../../api/quotas.js";
import { humanBytes } from "../../../../api/byte-sizes.js";
import { examples, runCommand } from "../../common/context.js";
import { table } from "../../common/format.js";
import { withAdminTarget, type AdminTargetOptions } from "../target.js";
import { quotasFor } from "./quota.js";

/** `wharf du [NAMESPACE]`: bytes per repository (unique and shared), and the namespace's total. */
export function registerDu(program: Command): void {
  const du = program
    .command("du")
    .description("Show storage used per repository: its bytes, those only it holds, those it shares")
    .argument("[namespace]", "repository glob, e.g. 'team-a/**' (default: every repository)");
  withAdminTarget(du);
  examples(du, [
    "wharf du --registry registry.example.com",
    "wharf du 'team-a/**' --json",
    "wharf du --data-dir /var/lib/wharf        # a registry without accounts",
  ]);
  du.action(async (given: string | undefined, options: AdminTargetOptions) => {
    const namespace = given ?? "**";
    await runCommand(options, async (ctx) => {
      await quotasFor(ctx, options, async (api) => {
        // Page by page: a namespace of thousands of repositories is never held whole but to print it.
        let total: { bytes: number; digests: number } | undefined;
        let after: string | undefined;
        const rows: string[][] = [["REPOSITORY", "SIZE", "UNIQUE", "SHARED", "BLOBS", "MANIFESTS"]];
        const all: RepositoryUsageDto[] = [];
        do {
          const page = await api.usage(namespace, after);
          total ??= page.total;
          for (const u of page.repositories) {
            if (ctx.json) all.push(u);
            else {
              rows.push([
                u.repository,
                humanBytes(u.bytes),
                humanBytes(u.unique),
                humanBytes(u.shared),
                String(u.blobs),
                String(u.manifests),
              ]);
            }
          }
          after = page.next;
        } while (after !== undefined);
        const sum = total ?? { bytes: 0, digests: 0 };
        if (ctx.json) return ctx.printJson({ namespace, repositories: all, total: sum });
        ctx.print(table(rows));
        ctx.print(
          `TOTAL ${namespace}: ${humanBytes(sum.bytes)} (${sum.bytes} bytes, ${sum.digests} digests, ` +
            "each counted once)",
        );
      });
    });
  });
}
