import type { Command } from "commander";
import type {
  PlannedRemoval,
  PolicyInput,
  RetentionPolicyDto,
  RetentionPreview,
  RetentionResult,
  RetentionRules,
} from "../../../../api/retention.js";
import { UsageError } from "../../../../client/errors.js";
import { withLocalRetention } from "../../../retention-local.js";
import { examples, runCommand, type Context } from "../../common/context.js";
import { table } from "../../common/format.js";
import { AdminApi } from "../api.js";
import { targetsDatabase, withAdminTarget, type AdminTargetOptions } from "../target.js";

/** A running registry's retention policies (admin API), or straight in its database (--data-dir). */
export interface RetentionAdmin {
  list(): Promise<RetentionPolicyDto[]>;
  add(policy: PolicyInput): Promise<RetentionPolicyDto>;
  remove(name: string): Promise<void>;
  preview(selection: { name?: string; policy?: PolicyInput }): Promise<RetentionPreview>;
  apply(selection: { name?: string; plan?: PlannedRemoval[] }): Promise<RetentionResult>;
}

async function retentionFor(
  ctx: Context,
  options: AdminTargetOptions,
  work: (admin: RetentionAdmin) => Promise<void>,
): Promise<void> {
  if (targetsDatabase(options)) return withLocalRetention(options, work);
  const api = AdminApi.for(ctx, options);
  return work({
    list: async () => (await api.call<{ policies: RetentionPolicyDto[] }>("GET", "/retention")).policies,
    add: (policy) => api.call<RetentionPolicyDto>("POST", "/retention", policy),
    remove: (name) => api.call("DELETE", `/retention/${encodeURIComponent(name)}`),
    preview: (selection) => api.call<RetentionPreview>("POST", "/retention/preview", selection),
    apply: (selection) => api.call<RetentionResult>("POST", "/retention/apply", selection),
  });
}

interface RuleOptions {
  keepLast?: string;
  by?: string;
  keepTags?: string[];
  keepRegex?: string;
  keepWithin?: string;
  removeSigned?: boolean;
}

function withRuleOptions(command: Command): Command {
  return command
    .option("--keep-last <n>", "keep the N most recent tags (see --by)")
    .option("--by <order>", "what --keep-last ranks by: pushed (push time, the default) or version", "pushed")
    .option("--keep-tags <glob...>", "keep tags matching any of these globs")
    .option("--keep-regex <re>", "keep tags a Go (RE2) regular expression matches whole")
    .option("--keep-within <period>", "keep tags pushed or pulled within this period (12h, 30d, 2w)")
    .option(
      "--remove-signed",
      "do not keep signed artifacts for being signed (immutable tags are always kept: that cannot be overridden)",
    );
}

/** The rules the flags give; the server checks them (a bad value is its 400, exit 2). */
function rulesOf(options: RuleOptions): RetentionRules {
  const rules: RetentionRules = {};
  if (options.keepLast !== undefined) {
    const count = Number(options.keepLast);
    if (!Number.isInteger(count))
      throw new UsageError(`--keep-last takes a whole number, not ${options.keepLast}`);
    if (options.by !== "pushed" && options.by !== "version") {
      throw new UsageError(`--by takes pushed or version, not ${options.by}`);
    }
    rules.keepLast = { count, by: options.by };
  }
  if (options.keepTags) rules.keepTags = options.keepTags;
  if (options.keepRegex !== undefined) rules.keepRegex = options.keepRegex;
  if (options.keepWithin !== undefined) rules.keepWithin = options.keepWithin;
  if (options.removeSigned) rules.removeSigned = true;
  return rules;
}

function hasRules(options: RuleOptions): boolean {
  return [options.keepLast, options.keepTags, options.keepRegex, options.keepWithin].some(
    (o) => o !== undefined,
  );
}

function describeRules(rules: RetentionRules): string {
  const parts: string[] = [];
  if (rules.keepLast) parts.push(`last ${rules.keepLast.count} by ${rules.keepLast.by}`);
  if (rules.keepTags) parts.push(`tags ${rules.keepTags.join(",")}`);
  if (rules.keepRegex !== undefined) parts.push(`regex ${rules.keepRegex}`);
  if (rules.keepWithin) parts.push(`within ${rules.keepWithin}`);
  parts.push(rules.removeSigned ? "signed not kept" : "signed kept");
  return parts.join("; ");
}

function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(":");
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest;
}

export function registerRetention(program: Command): void {
  const retention = program
    .command("retention")
    .description("Show, edit, preview and apply retention policies: which tags go and which stay");
  examples(retention, [
    "wharf retention add ci 'team-a/**' --keep-last 10 --keep-tags 'release-*' --keep-within 30d",
    "wharf retention add versions 'charts/**' --keep-last 5 --by version",
    "wharf retention preview ci          # what would go, and why; changes nothing",
    "wharf retention apply ci            # remove those tags now (garbage collection reclaims the bytes)",
    "wharf retention rm ci",
  ]);

  const ls = withAdminTarget(retention.command("ls", { isDefault: true }).description("List the policies"));
  ls.action(async (options: AdminTargetOptions) => {
    await runCommand(options, async (ctx) => {
      await retentionFor(ctx, options, async (admin) => {
        const policies = await admin.list();
        if (ctx.json) return ctx.printJson(policies);
        ctx.print(
          table([
            ["NAME", "REPOSITORIES", "RULES", "BY"],
            ...policies.map((p) => [p.name, p.repositories, describeRules(p.rules), p.createdBy]),
          ]),
        );
      });
    });
  });

  const add = withAdminTarget(
    withRuleOptions(
      retention
        .command("add")
        .description("Add a policy: a tag of a matching repository is removed unless some keep rule keeps it")
        .argument("<name>", "the policy's name, e.g. ci")
        .argument("<repositories>", "repository glob, e.g. 'team-a/**'"),
    ),
  );
  add.action(async (name: string, repositories: string, options: AdminTargetOptions & RuleOptions) => {
    await runCommand(options, async (ctx) => {
      if (!hasRules(options)) {
        throw new UsageError(
          "give at least one keep rule: --keep-last, --keep-tags, --keep-regex or --keep-within",
        );
      }
      const rules = rulesOf(options);
      await retentionFor(ctx, options, async (admin) => {
        const policy = await admin.add({ name, repositories, rules });
        if (ctx.json) return ctx.printJson(policy);
        ctx.print(policy.name);
        ctx.note(`Added policy ${policy.name} on ${policy.repositories}: ${describeRules(policy.rules)}`);
      });
    });
  });

  const rm = withAdminTarget(
    retention.command("rm").description("Remove a policy").argument("<name>", "the policy's name"),
  );
  rm.action(async (name: string, options: AdminTargetOptions) => {
    await runCommand(options, async (ctx) => {
      await retentionFor(ctx, options, async (admin) => {
        await admin.remove(name);
        if (ctx.json) return ctx.printJson({ removed: name });
        ctx.note(`Removed policy ${name}`);
      });
    });
  });

  const preview = withAdminTarget(
    withRuleOptions(
      retention
        .command("preview")
        .description("Show what applying the policies now would remove and keep, and why (changes nothing)")
        .argument("[name]", "one stored policy (default: all)")
        .option("--repositories <glob>", "with keep rules: preview an unsaved policy on these repositories"),
    ),
  );
  examples(preview, [
    "wharf retention preview",
    "wharf retention preview ci --json",
    "wharf retention preview --repositories 'team-a/**' --keep-last 3   # a policy not saved",
  ]);
  preview.action(
    async (
      name: string | undefined,
      options: AdminTargetOptions & RuleOptions & { repositories?: string },
    ) => {
      await runCommand(options, async (ctx) => {
        const unsaved = options.repositories !== undefined || hasRules(options);
        if (unsaved && name !== undefined) throw new UsageError("give a policy name or keep rules, not both");
        if (unsaved && (options.repositories === undefined || !hasRules(options))) {
          throw new UsageError("an unsaved policy needs --repositories and at least one keep rule");
        }
        const selection = unsaved
          ? { policy: { name: "preview", repositories: options.repositories, rules: rulesOf(options) } }
          : name === undefined
            ? {}
            : { name };
        await retentionFor(ctx, options, async (admin) => {
          const result = await admin.preview(selection);
          if (ctx.json) return ctx.printJson(result);
          const rows = [["REPOSITORY", "TAG", "DIGEST", "DECISION", "REASON"]];
          for (const r of result.repositories) {
            if (r.skipped) rows.push([r.repository, "-", "-", "skipped", r.skipped]);
            for (const d of r.decisions)
              rows.push([r.repository, d.tag, shortDigest(d.digest), d.decision, d.reason]);
          }
          if (rows.length > 1) ctx.print(table(rows));
          ctx.note(
            `${result.remove} tag(s) would be removed, ${result.keep} kept` +
              (result.truncated ? " (listing cut short; counts are whole)" : ""),
          );
        });
      });
    },
  );

  const apply = withAdminTarget(
    retention
      .command("apply")
      .description("Apply the policies now: remove the tags they do not keep (the bytes go at the next GC)")
      .argument("[name]", "one stored policy (default: all)"),
  );
  apply.action(async (name: string | undefined, options: AdminTargetOptions) => {
    await runCommand(options, async (ctx) => {
      await retentionFor(ctx, options, async (admin) => {
        const result = await admin.apply(name === undefined ? {} : { name });
        if (ctx.json) return ctx.printJson(result);
        const rows = [["REPOSITORY", "TAG", "DIGEST", "DECISION", "REASON"]];
        for (const r of result.removed)
          rows.push([r.repository, r.tag, shortDigest(r.digest), "removed", r.reason]);
        for (const l of result.left) rows.push([l.repository, l.tag, shortDigest(l.digest), "left", l.why]);
        if (rows.length > 1) ctx.print(table(rows));
        ctx.note(`Removed ${result.removedCount} tag(s), kept ${result.kept}, left ${result.left.length}`);
      });
    });
  });
}
