import {
  describeKind,
  kindInfoFromApi,
  type AccessoryInfo,
  type KindInfo,
} from "../../../client/describe.js";
import { WharfApi } from "../../../client/discovery/wharf-api.js";
import type { ApiSigned } from "../../../client/discovery/api-shapes.js";
import { RegistryResponseError } from "../../../client/errors.js";
import type { Descriptor } from "../../../client/manifest.js";
import type { Reference } from "../../../client/reference.js";
import type { Context } from "./context.js";
import { escapeControl, table } from "./format.js";
import { openTarget } from "./targets.js";

/**
 * The kind, facts, accessories and actions of the artifact `wharf info` describes: from the registry's
 * discovery API when it is Wharf (operator kinds and facts stored at push included), else decided here
 * from the manifest and its config blob, never from layers.
 */
export async function describeInfoKind(
  ctx: Context,
  ref: Reference,
  descriptor: Descriptor,
  bytes: Buffer,
  referrers: Descriptor[] | undefined,
  offline: boolean,
): Promise<KindInfo> {
  // The tag as addressed: actions then name it, as the user would paste them.
  const tag = ref.digest ? null : (ref.tag ?? (ref.kind === "registry" ? "latest" : null));
  if (ref.kind === "registry" && !offline) {
    try {
      const api = await WharfApi.open(ctx.client, ref.registry);
      const detail = await api?.artifact(ref.repository, tag ?? descriptor.digest);
      if (detail) return kindInfoFromApi(detail);
    } catch (err) {
      // The manifest is in hand: a discovery API that fails only means working the kind out here.
      if (!(err instanceof RegistryResponseError)) throw err;
    }
  }
  return describeKind({
    target: openTarget(ctx, ref),
    manifest: { bytes, mediaType: descriptor.mediaType, digest: descriptor.digest },
    registry: ref.kind === "registry" ? ref.registry : null,
    repository: ref.kind === "registry" ? ref.repository : null,
    tag,
    referrers,
    online: !offline,
  });
}

const FACT_LABELS: [string, string][] = [
  ["title", "Title:"],
  ["version", "Version:"],
  ["description", "Description:"],
  ["source", "Source:"],
  ["revision", "Revision:"],
  ["licenses", "Licenses:"],
  ["authors", "Authors:"],
  ["created", "Created:"],
  ["url", "URL:"],
  ["refersTo", "Refers to:"],
  ["predicateType", "Predicate type:"],
];

/** Rows of the facts that are known, for the info table. */
export function factRows(facts: Record<string, unknown>): string[][] {
  const rows: string[][] = [];
  for (const [key, label] of FACT_LABELS) {
    const value = facts[key];
    if (typeof value === "string" && value !== "") rows.push([label, value]);
  }
  const platforms = facts.platforms;
  if (Array.isArray(platforms) && platforms.length > 0) rows.push(["Platforms:", platforms.join(", ")]);
  for (const [key, label] of [
    ["chart", "Chart:"],
    ["model", "Model:"],
    ["sbom", "SBOM:"],
  ] as const) {
    const group = facts[key];
    if (typeof group !== "object" || group === null) continue;
    const parts = Object.entries(group as Record<string, unknown>)
      .filter(([, v]) => typeof v === "string" && v !== "")
      .map(([k, v]) => `${k} ${String(v)}`);
    if (parts.length > 0) rows.push([label, parts.join(", ")]);
  }
  return rows;
}

/**
 * `Signed:` rows as the registry reports them: each trusted key with the signature's format and when
 * the registry verified it, or that no key it trusts signed.
 */
export function signedRows(signed: ApiSigned): string[][] {
  if (!signed.signed) return [["Signed:", "no (by no key the registry trusts)"]];
  if (signed.signatures.length === 0) return [["Signed:", "yes"]];
  return signed.signatures.map((s, i) => [
    i === 0 ? "Signed:" : "",
    escapeControl(
      `by ${s.key}${s.format ? ` (${s.format})` : ""}${s.verifiedAt ? `, verified ${s.verifiedAt}` : ""}` +
        (s.digest ? ` ${s.digest}` : ""),
    ),
  ]);
}

export function accessoryLines(accessories: Record<string, AccessoryInfo[]>): string[] {
  const all = Object.values(accessories).flat();
  if (all.length === 0) return ["Accessories: none"];
  return [
    `Accessories (${all.length}):`,
    table(all.map((a) => [`  ${a.kindTitle}`, a.digest, a.tags.join(", ")])),
  ];
}

/** Each action with its label, the command indented under it (multi-line snippets stay pasteable). */
export function actionLines(actions: { label: string; command: string }[]): string[] {
  if (actions.length === 0) return [];
  const lines = ["Actions:"];
  for (const action of actions) {
    lines.push(`  ${escapeControl(action.label)}:`);
    for (const line of action.command.split("\n")) lines.push(`    ${escapeControl(line)}`);
  }
  return lines;
}
