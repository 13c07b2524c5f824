import { kindTitle } from "../../../client/discovery/kinds.js";
import type { Listing, ListedArtifact } from "../../../client/discovery/listing.js";
import { formatLocation } from "../../../client/defaults/index.js";
import type { Context } from "./context.js";
import { escapeControl, formatBytes, table } from "./format.js";

/**
 * Prints a listing (of `wharf ls --kind` or `wharf search`): JSON with --json, else a table of kind,
 * reference, title, version, size, push time (and pulls, when counted), with each artifact's accessories on a line under it.
 * Notes (which source answered, a listing cut short) go to stderr.
 */
export function printListing(ctx: Context, listing: Listing): void {
  for (const note of listing.notes) ctx.note(note);
  if (ctx.json) {
    return ctx.printJson({
      registry: listing.registry,
      namespace: listing.namespace,
      source: listing.source,
      kinds: listing.kinds,
      truncated: listing.truncated,
      artifacts: listing.artifacts,
    });
  }
  if (listing.artifacts.length === 0) return;
  // Only a registry that verifies signatures (Wharf's API) says, and the column shows once something
  // listed is signed: a registry where nobody signs gets no column of "no".
  const signedKnown = listing.artifacts.some((a) => a.signed === true);
  // Pull counts (only Wharf's API gives them), once something listed was pulled: as for SIGNED, a
  // registry nobody pulled from yet gets no column of zeros.
  const pullsKnown = listing.artifacts.some((a) => (a.pullCount ?? 0) > 0);
  const rows: string[][] = [
    [
      "KIND",
      "REFERENCE",
      "TITLE",
      "VERSION",
      "SIZE",
      "PUSHED",
      ...(pullsKnown ? ["PULLS"] : []),
      ...(signedKnown ? ["SIGNED"] : []),
    ],
  ];
  // Lines under each artifact (its other tags, its accessories), kept out of the column widths.
  const under: string[][] = [[]];
  for (const a of listing.artifacts) {
    rows.push([
      a.kindTitle ?? a.kind ?? "-",
      referenceOf(listing.registry, a),
      a.title ?? "-",
      a.version ?? "-",
      a.size === null ? "-" : formatBytes(a.size),
      pushedAt(a.updated),
      ...(pullsKnown ? [String(a.pullCount ?? "-")] : []),
      ...(signedKnown ? [signedCell(a)] : []),
    ]);
    const lines: string[] = [];
    if (a.tags.length > 1) lines.push(`  tags: ${a.tags.join(", ")}`);
    const accessories = Object.entries(a.accessories);
    if (accessories.length > 0) {
      lines.push(`  └ ${accessories.map(([kind, n]) => `${n} ${kindTitle(kind) ?? kind}`).join(", ")}`);
    }
    under.push(lines.map((line) => escapeControl(line)));
  }
  const out = table(rows)
    .split("\n")
    .flatMap((line, i) => [line, ...(under[i] ?? [])]);
  ctx.print(out.join("\n"));
}

/** `yes (ci, release)` with the trusted keys that signed, `no`, or `-` when the registry did not say. */
export function signedCell(a: { signed: boolean | null; signatures: { key: string }[] }): string {
  if (a.signed === null) return "-";
  if (!a.signed) return "no";
  const keys = [...new Set(a.signatures.map((s) => s.key))];
  return escapeControl(keys.length > 0 ? `yes (${keys.join(", ")})` : "yes");
}

/** `host/repo:tag` with the first tag, else `host/repo@digest`. */
export function referenceOf(registry: string, a: ListedArtifact): string {
  const base = `${registry}/${a.repository}`;
  if (a.tags[0]) return `${base}:${a.tags[0]}`;
  return a.digest ? `${base}@${a.digest}` : base;
}

/** ISO time → `2026-12-01 08:20` (UTC), or `-`. */
function pushedAt(iso: string | null): string {
  if (!iso) return "-";
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? "-" : time.toISOString().slice(0, 16).replace("T", " ");
}

/**
 * Where `wharf ls --kind K` and `wharf search --kind K` look when not told: the kind's own default
 * (`registries.K` in the client config), else the general one (WHARF_REGISTRY, `registry:`).
 */
export function defaultLocation(ctx: Context, kind: string | undefined): string | undefined {
  const chosen = ctx.client.resolver.defaultFor(kind);
  return chosen ? formatLocation(chosen.location) : undefined;
}
