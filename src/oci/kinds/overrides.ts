import { PLACEHOLDERS } from "./actions.js";
import { isIconName } from "./icons.js";
import type { ActionTemplate, Kind, KindRules } from "./types.js";

/** An invalid operator-supplied kind: names the entry and the field so the operator can find it. */
export class KindsError extends Error {
  /** e.g. `kinds[2] (acme-katalog)` */
  readonly entry: string;
  /** e.g. `detect.artifactTypes[0]` */
  readonly field: string;
  constructor(entry: string, field: string, reason: string) {
    // Names come from the operator's file: keep them printable for the terminal and the log.
    const printable = (text: string) => text.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
    super(`${printable(entry)}: ${printable(field)}: ${reason}`);
    this.entry = printable(entry);
    this.field = printable(field);
  }
}

const ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const MEDIA_TYPE_PATTERN = /^[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*\/[A-Za-z0-9*][A-Za-z0-9!#$&^_.+*-]*$/;
// eslint-disable-next-line no-control-regex -- a value pattern is one line of printable text
const ONE_LINE = /^[^\u0000-\u001f\u007f]*$/;
const UNKNOWN_PLACEHOLDER = /\{([a-z]+)\}/g;
const LIMITS = {
  id: 64,
  title: 80,
  description: 200,
  pattern: 255,
  patterns: 64,
  actions: 16,
  label: 60,
  template: 2000,
};

const MEDIA_TYPE_RULES = [
  "artifactTypes",
  "configMediaTypes",
  "layerMediaTypes",
] as const satisfies readonly (keyof KindRules)[];
const MAP_RULES = ["annotations", "configLabels"] as const satisfies readonly (keyof KindRules)[];
const RULE_KEYS = new Set<string>([
  ...MEDIA_TYPE_RULES,
  ...MAP_RULES,
  "platforms",
  "tagSuffixes",
  "fallback",
]);
const ENTRY_KEYS = new Set([
  "id",
  "title",
  "description",
  "icon",
  "accessory",
  "hiddenFromPlatforms",
  "detect",
  "actions",
]);

/**
 * Validates operator-supplied `kinds:` entries (the catalogue's own shape). An entry whose id is built in
 * overrides the fields it gives; a new id must give a title, a description and at least one detection rule.
 * Throws KindsError naming the first invalid entry and field.
 */
export function validateKinds(entries: unknown, base: readonly Kind[], where = "kinds"): Kind[] {
  if (!Array.isArray(entries)) throw new KindsError(where, "(list)", "must be a list of kinds");
  const byId = new Map(base.map((k) => [k.id, k]));
  const seen = new Set<string>();
  return entries.map((raw, i) => {
    const idText = isRecord(raw) && typeof raw.id === "string" ? ` (${raw.id.slice(0, LIMITS.id)})` : "";
    const entry = `${where}[${i}]${idText}`;
    const fail = (field: string, reason: string): never => {
      throw new KindsError(entry, field, reason);
    };
    if (!isRecord(raw)) return fail("(entry)", "must be a mapping");
    for (const key of Object.keys(raw)) if (!ENTRY_KEYS.has(key)) fail(key, "is not a kind field");

    const id = raw.id;
    if (typeof id !== "string" || id.length > LIMITS.id || !ID.test(id)) {
      return fail("id", "must be lower-case letters and digits joined by dashes, at most 64 characters");
    }
    if (seen.has(id)) fail("id", `${id} is given twice`);
    seen.add(id);
    const builtIn = byId.get(id);

    const kind: Kind = {
      id,
      title: text(raw.title, builtIn?.title, LIMITS.title, "title", fail),
      description: text(raw.description, builtIn?.description, LIMITS.description, "description", fail),
      icon: raw.icon === undefined ? (builtIn?.icon ?? "artifact") : icon(raw.icon, fail),
      accessory: flag(raw.accessory, builtIn?.accessory ?? false, "accessory", fail),
      hiddenFromPlatforms: flag(
        raw.hiddenFromPlatforms,
        builtIn?.hiddenFromPlatforms ?? false,
        "hiddenFromPlatforms",
        fail,
      ),
      detect: raw.detect === undefined && builtIn ? builtIn.detect : rules(raw.detect, fail),
      actions: raw.actions === undefined ? (builtIn?.actions ?? []) : actions(raw.actions, fail),
    };
    return kind;
  });
}

/**
 * The catalogue with operator kinds applied: a kind with a built-in id replaces it where it stands; new
 * kinds go first, so that an operator's own types win over built-in ones at the same detection stage.
 */
export function mergeKinds(base: readonly Kind[], overrides: readonly Kind[]): Kind[] {
  const byId = new Map(overrides.map((k) => [k.id, k]));
  const baseIds = new Set(base.map((k) => k.id));
  const added = overrides.filter((k) => !baseIds.has(k.id));
  return [...added, ...base.map((k) => byId.get(k.id) ?? k)];
}

type Fail = (field: string, reason: string) => never;

function text(value: unknown, fallback: string | undefined, max: number, field: string, fail: Fail): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || value.trim().length === 0)
    return fail(field, "is required (a one-line text)");
  // eslint-disable-next-line no-control-regex -- control characters and newlines do not belong in a title
  if (/[\u0000-\u001f\u007f]/.test(value)) return fail(field, "must be one line without control characters");
  if (value.length > max) return fail(field, `must be at most ${max} characters`);
  return value;
}

function icon(value: unknown, fail: Fail): string {
  if (typeof value !== "string" || !isIconName(value)) {
    return fail("icon", "must name one of Wharf's icons (see GET /api/v1/kinds or `wharf kinds`)");
  }
  return value;
}

function flag(value: unknown, fallback: boolean, field: string, fail: Fail): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") return fail(field, "must be true or false");
  return value;
}

function rules(value: unknown, fail: Fail): KindRules {
  if (!isRecord(value)) return fail("detect", "is required: a mapping of detection rules");
  const result: KindRules = {};
  for (const key of Object.keys(value))
    if (!RULE_KEYS.has(key)) fail(`detect.${key}`, "is not a detection rule");
  for (const key of MEDIA_TYPE_RULES) {
    if (value[key] !== undefined)
      result[key] = patterns(value[key], `detect.${key}`, MEDIA_TYPE_PATTERN, "a media type", fail);
  }
  if (value.platforms !== undefined) {
    result.platforms = patterns(
      value.platforms,
      "detect.platforms",
      /^[a-z0-9*._-]+\/[a-z0-9*._-]+(?:\/[a-z0-9*._-]+)?$/,
      "os/architecture",
      fail,
    );
  }
  if (value.tagSuffixes !== undefined) {
    result.tagSuffixes = patterns(
      value.tagSuffixes,
      "detect.tagSuffixes",
      /^[a-z]+$/,
      "a tag suffix such as sig",
      fail,
    );
  }
  for (const key of MAP_RULES) {
    if (value[key] !== undefined) result[key] = entries(value[key], `detect.${key}`, fail);
  }
  if (value.fallback !== undefined) result.fallback = fallback(value.fallback, fail);
  if (Object.keys(result).length === 0) fail("detect", "needs at least one rule");
  return result;
}

function fallback(value: unknown, fail: Fail): NonNullable<KindRules["fallback"]> {
  if (!isRecord(value)) return fail("detect.fallback", "must be a mapping with manifestMediaTypes");
  for (const key of Object.keys(value)) {
    if (key !== "manifestMediaTypes" && key !== "configMediaTypes")
      fail(`detect.fallback.${key}`, "is not a fallback rule");
  }
  const field = "detect.fallback.manifestMediaTypes";
  const result: NonNullable<KindRules["fallback"]> = {
    manifestMediaTypes: patterns(value.manifestMediaTypes, field, MEDIA_TYPE_PATTERN, "a media type", fail),
  };
  if (value.configMediaTypes !== undefined) {
    const config = "detect.fallback.configMediaTypes";
    result.configMediaTypes = patterns(
      value.configMediaTypes,
      config,
      MEDIA_TYPE_PATTERN,
      "a media type",
      fail,
    );
  }
  return result;
}

function patterns(value: unknown, field: string, grammar: RegExp, what: string, fail: Fail): string[] {
  if (!Array.isArray(value) || value.length === 0) return fail(field, "must be a non-empty list");
  if (value.length > LIMITS.patterns) return fail(field, `must have at most ${LIMITS.patterns} entries`);
  return value.map((p, i) => pattern(p, `${field}[${i}]`, grammar, what, fail));
}

function pattern(value: unknown, field: string, grammar: RegExp, what: string, fail: Fail): string {
  if (typeof value !== "string" || value.length === 0 || value.length > LIMITS.pattern) {
    return fail(field, `must be ${what}, at most ${LIMITS.pattern} characters`);
  }
  if (value.indexOf("*") !== value.lastIndexOf("*")) return fail(field, "may contain at most one *");
  if (!grammar.test(value)) return fail(field, `must be ${what} (one * allowed as a wildcard)`);
  return value;
}

function entries(value: unknown, field: string, fail: Fail): Record<string, string> {
  if (!isRecord(value) || Object.keys(value).length === 0) return fail(field, "must be a non-empty mapping");
  if (Object.keys(value).length > LIMITS.patterns)
    return fail(field, `must have at most ${LIMITS.patterns} entries`);
  const result: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = `${field}.${key}`;
    if (key.length > LIMITS.pattern || key.indexOf("*") !== key.lastIndexOf("*")) {
      fail(name, "keys are at most 255 characters with at most one *");
    }
    if (typeof v !== "string") fail(name, 'must be a string ("*" for any value)');
    result[key] = pattern(v, name, ONE_LINE, "a value pattern", fail);
  }
  return result;
}

function actions(value: unknown, fail: Fail): ActionTemplate[] {
  if (!Array.isArray(value)) return fail("actions", "must be a list of {label, template}");
  if (value.length > LIMITS.actions) return fail("actions", `must have at most ${LIMITS.actions} entries`);
  return value.map((raw, i) => {
    const field = `actions[${i}]`;
    if (!isRecord(raw)) return fail(field, "must be a mapping with label and template");
    for (const key of Object.keys(raw)) {
      if (key !== "label" && key !== "template" && key !== "byDigest")
        fail(`${field}.${key}`, "is not an action field");
    }
    const action: ActionTemplate = {
      label: text(raw.label, undefined, LIMITS.label, `${field}.label`, fail),
      template: template(raw.template, `${field}.template`, fail),
    };
    if (raw.byDigest !== undefined) action.byDigest = template(raw.byDigest, `${field}.byDigest`, fail);
    return action;
  });
}

function template(value: unknown, field: string, fail: Fail): string {
  if (typeof value !== "string" || value.trim().length === 0 || value.length > LIMITS.template) {
    return fail(field, `must be a non-empty text of at most ${LIMITS.template} characters`);
  }
  for (const match of value.matchAll(UNKNOWN_PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(match[1]!)) {
      fail(field, `unknown placeholder {${match[1]}}; use ${PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`);
    }
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
