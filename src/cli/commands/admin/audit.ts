import type { Command } from "commander";
import { UsageError } from "../../../client/errors.js";
import type { AuditRecordDto } from "../../../api/audit.js";
import { examples, runCommand, withCommonOptions, type CommonOptions } from "../common/context.js";
import { parseDuration, table } from "../common/format.js";
import { AdminApi, type RegistryOption } from "./api.js";

interface AuditOptions extends CommonOptions, RegistryOption {
  actor?: string;
  action?: string;
  repo?: string;
  since?: string;
  n: string;
}

export function registerAudit(program: Command): void {
  const command = program
    .command("audit")
    .description("List the audit log, newest first: pushes, deletes, tag changes, logins, account changes")
    .option("--actor <name>", "only what this user or robot did")
    .option("--action <action>", "e.g. manifest.push, tag.delete, login, or a prefix such as token.")
    .option("--repo <repository>", "only events on this repository")
    .option("--since <when>", "a duration back from now (24h, 7d) or an ISO-8601 time")
    .option("-n <count>", "at most this many events (1-1000)", "100")
    .option("--registry <host>", "the registry to ask (default WHARF_REGISTRY)");
  withCommonOptions(command);
  examples(command, [
    "wharf audit --since 24h",
    "wharf audit --actor ci --action manifest.push --json",
    "wharf audit --action login -n 20",
  ]);
  command.action(async (options: AuditOptions) => {
    await runCommand(options, async (ctx) => {
      const query = new URLSearchParams({ limit: options.n });
      if (options.actor) query.set("actor", options.actor);
      if (options.action) query.set("action", options.action);
      if (options.repo) query.set("repository", options.repo);
      if (options.since) query.set("since", sinceTime(options.since));
      const { events } = await AdminApi.for(ctx, options).call<{ events: AuditRecordDto[] }>(
        "GET",
        `/audit?${query.toString()}`,
      );
      if (ctx.json) return ctx.printJson(events);
      ctx.print(
        table([
          ["TIME", "ACTOR", "FROM", "ACTION", "TARGET", "OUTCOME", "DETAIL"],
          ...events.map((e) => [
            e.at,
            e.actor,
            e.client,
            e.action,
            [e.repository, e.target].filter(Boolean).join(" ") || "-",
            e.outcome,
            summary(e),
          ]),
        ]),
      );
    });
  });
}

/** The part of an event's detail worth a column: pushed tags, or why something failed or was refused. */
function summary(event: AuditRecordDto): string {
  const detail = event.detail ?? {};
  const parts: string[] = [];
  if (Array.isArray(detail.tags) && detail.tags.length > 0) parts.push(`tags ${detail.tags.join(",")}`);
  if (typeof detail.reason === "string") parts.push(detail.reason);
  return parts.join("; ") || "-";
}

function sinceTime(text: string): string {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(Date.now() - ms).toISOString();
  const time = Date.parse(text);
  if (Number.isNaN(time))
    throw new UsageError(`--since ${text}: use a duration such as 24h or an ISO-8601 time`);
  return new Date(time).toISOString();
}
