import type { DiscoveryResult } from "../../../client/discovery/index.js";
import type { Context } from "./context.js";
import { shortDigest, table } from "./format.js";

/**
 * Prints a discovery listing, whichever source gave it: notes (which source, and why a slow one) on
 * stderr, the artifacts on stdout, as a table or with --json the whole result.
 */
export function printArtifacts(ctx: Context, result: DiscoveryResult): void {
  if (ctx.json) return ctx.printJson(result);
  for (const note of result.notes) ctx.note(note);
  if (result.artifacts.length === 0) return;
  ctx.print(
    table([
      ["REPOSITORY", "TAGS", "KIND", "TITLE", "VERSION", "DIGEST"],
      ...result.artifacts.map((a) => [
        a.repository,
        a.tags.join(",") || "-",
        a.kind ?? "-",
        a.title ?? "-",
        a.version ?? "-",
        a.digest ? shortDigest(a.digest) : "-",
      ]),
    ]),
  );
}
