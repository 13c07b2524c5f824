import { parseVersionTag, type Version } from "../../oci/tag-policy/index.js";
import type { CompiledPolicy } from "./rules.js";

/** What retention knows of one tag of one repository. */
export interface TagFacts {
  tag: string;
  digest: string;
  /** When the tag was last pushed (ISO-8601). */
  pushed: string;
  /** When its manifest was last pulled (by any tag or by digest), or null. */
  lastPulled: string | null;
  /** The immutable-tag rule covering it, if any: such a tag is always kept. */
  immutable: string | undefined;
  signed: boolean;
  /** Why the tag is not retention's to judge (a referrers fallback or cosign tag, the managed index tag). */
  reserved: string | undefined;
}

export interface TagDecision {
  tag: string;
  digest: string;
  decision: "keep" | "remove";
  reason: string;
}

/**
 * Judges every tag of one repository against the policies applying to it, each tag on its own (tags
 * sharing a digest are judged separately; removing one never removes the manifest). A tag is removed
 * only if no policy keeps it; a policy keeps a tag when any of its keep rules does. Reserved tags are
 * always kept and not ranked; immutable tags are always kept. Pure: same facts, same `nowMs`, same answer.
 */
export function evaluate(
  policies: readonly CompiledPolicy[],
  tags: readonly TagFacts[],
  nowMs: number,
): TagDecision[] {
  const ranked = tags.filter((t) => t.reserved === undefined);
  const byPushed = rankBy(ranked, byPushTime);
  const versions = new Map<string, Version>();
  for (const t of ranked) {
    const v = versionOf(t.tag);
    if (v) versions.set(t.tag, v);
  }
  const byVersion = rankBy(
    ranked.filter((t) => versions.has(t.tag)),
    (a, b) => versions.get(b.tag)!.compare(versions.get(a.tag)!) || byPushTime(a, b),
  );
  return tags.map((t) => {
    const decide = (decision: TagDecision["decision"], reason: string) => ({
      tag: t.tag,
      digest: t.digest,
      decision,
      reason,
    });
    if (t.reserved !== undefined) return decide("keep", t.reserved);
    if (t.immutable !== undefined) return decide("keep", `immutable (rule '${t.immutable}')`);
    const removals: string[] = [];
    for (const compiled of policies) {
      const keep = keptBy(compiled, t, byPushed, byVersion, nowMs);
      const name = compiled.policy.name;
      if (keep) return decide("keep", `policy ${name}: ${keep}`);
      removals.push(`policy ${name}: no keep rule matches`);
    }
    return decide("remove", removals.join("; "));
  });
}

/** The first of the policy's keep rules that keeps the tag, as a reason, or undefined. */
function keptBy(
  compiled: CompiledPolicy,
  t: TagFacts,
  byPushed: Map<string, number>,
  byVersion: Map<string, number>,
  nowMs: number,
): string | undefined {
  const { rules } = compiled.policy;
  if (rules.keepLast) {
    const { count, by } = rules.keepLast;
    const rank = (by === "pushed" ? byPushed : byVersion).get(t.tag);
    if (rank !== undefined && rank < count) {
      return `among the ${count} most recent by ${by === "pushed" ? "push time" : "version"} (#${rank + 1})`;
    }
  }
  if (compiled.keepTag?.(t.tag)) return `matches keepTags ${rules.keepTags!.join(", ")}`;
  if (compiled.keepRegex?.(t.tag)) return `matches keepRegex ${rules.keepRegex}`;
  if (compiled.withinMs !== undefined) {
    const since = nowMs - compiled.withinMs;
    if (Date.parse(t.pushed) >= since) return `pushed within ${rules.keepWithin}`;
    if (t.lastPulled !== null && Date.parse(t.lastPulled) >= since)
      return `pulled within ${rules.keepWithin}`;
  }
  if (t.signed && !rules.removeSigned) return "signed";
  return undefined;
}

/** Semver-like versions as the rest of Wharf reads tags (Flux's parsing; Helm's `_` for `+`). */
function versionOf(tag: string): Version | undefined {
  return (parseVersionTag(tag) ?? (tag.includes("_") ? parseVersionTag(tag, { helm: true }) : undefined))
    ?.version;
}

/** Newest first; equal times by name, so the order never depends on the listing's. */
function byPushTime(a: TagFacts, b: TagFacts): number {
  return a.pushed < b.pushed ? 1 : a.pushed > b.pushed ? -1 : a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

function rankBy(tags: readonly TagFacts[], order: (a: TagFacts, b: TagFacts) => number): Map<string, number> {
  return new Map([...tags].sort(order).map((t, i) => [t.tag, i]));
}
