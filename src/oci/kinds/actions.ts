import type { ActionTemplate, Kind } from "./types.js";

export const PLACEHOLDERS = ["registry", "repository", "tag", "digest", "reference", "subject"] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Where an artifact is, as the caller addressed the registry. */
export interface ActionTarget {
  /** host[:port] as the caller reaches it. */
  registry: string;
  repository: string;
  tag?: string | null;
  digest?: string | null;
  /** For an accessory: the digest of the artifact it refers to. */
  subject?: string | null;
}

export interface RenderedAction {
  label: string;
  command: string;
}

const PLACEHOLDER = /\{(registry|repository|tag|digest|reference|subject)\}/g;

/** `registry/repository:tag`, or `registry/repository@digest` when there is no tag. */
export function referenceOf(target: ActionTarget): string | null {
  const base = `${target.registry}/${target.repository}`;
  if (target.tag) return `${base}:${target.tag}`;
  if (target.digest) return `${base}@${target.digest}`;
  return null;
}

/**
 * Renders a kind's actions for one artifact. {reference} is the tag form when there is a tag, else the
 * digest form. An action whose template needs a value that is missing is rendered from its `byDigest`
 * form when it has one and the digest is known (an artifact addressed by digest only), and otherwise left
 * out: a command with a hole in it is worse than none. Values are substituted in one pass, so a value can
 * never introduce a placeholder of its own.
 */
export function renderActions(kind: Kind, target: ActionTarget): RenderedAction[] {
  const values: Record<Placeholder, string | null> = {
    registry: target.registry || null,
    repository: target.repository || null,
    tag: target.tag ?? null,
    digest: target.digest ?? null,
    reference: referenceOf(target),
    subject: target.subject ?? null,
  };
  const rendered: RenderedAction[] = [];
  for (const action of kind.actions) {
    const command = renderOne(action, values);
    if (command !== null) rendered.push({ label: action.label, command });
  }
  return rendered;
}

function renderOne(action: ActionTemplate, values: Record<Placeholder, string | null>): string | null {
  for (const template of [action.template, action.byDigest]) {
    if (template === undefined) continue;
    if (placeholdersIn(template).every((name) => values[name] !== null)) {
      return template.replace(PLACEHOLDER, (_, name: Placeholder) => values[name] ?? "");
    }
  }
  return null;
}

export function placeholdersIn(template: string): Placeholder[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] as Placeholder);
}
