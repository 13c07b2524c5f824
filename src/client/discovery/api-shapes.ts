/**
 * The JSON shapes of Wharf's discovery API (`/api/v1/…`, src/http/routes/discovery.ts), read tolerantly:
 * whatever a server answers, callers see well-typed values, and a field of the wrong type is missing
 * rather than an exception. The only place that knows the API's field names.
 */
import { asObject, asString } from "../../oci/kinds/view.js";

export interface ApiKind {
  id: string;
  title: string;
  description: string;
  icon: string;
  accessory: boolean;
}

export interface ApiAccessorySummary {
  count: number;
  /** Count per kind id. */
  kinds: Record<string, number>;
}

/** A signature over an artifact that a key the registry trusts verified. */
export interface ApiSignature {
  key: string;
  fingerprint: string | null;
  format: string | null;
  /** The signature manifest. */
  digest: string | null;
  verifiedAt: string | null;
}

/** What the registry says of an artifact's signatures; signed is null when it says nothing (older Wharf). */
export interface ApiSigned {
  signed: boolean | null;
  signatures: ApiSignature[];
}

export interface ApiArtifact extends ApiSigned {
  repository: string;
  digest: string;
  tags: string[];
  kind: string | null;
  kindTitle: string | null;
  title: string | null;
  version: string | null;
  description: string | null;
  size: number | null;
  pushedAt: string | null;
  /** Pull statistics (Wharf 0.x with issue 15 on); null from a registry that does not count. */
  pullCount: number | null;
  lastPulled: string | null;
  platforms: string[];
  accessories: ApiAccessorySummary | null;
}

export interface ApiAccessory {
  digest: string;
  kind: string;
  kindTitle: string | null;
  tags: string[];
  title: string | null;
}

export interface ApiArtifactDetail extends ApiSigned {
  repository: string;
  digest: string;
  tags: string[];
  kind: { id: string; title: string; icon: string; description: string };
  facts: Record<string, unknown>;
  accessories: Record<string, ApiAccessory[]>;
  actions: { label: string; command: string }[];
}

/** GET /api/v1/repositories/NAME/resolve. */
export interface ApiResolution {
  tag: string;
  digest: string;
  mediaType: string;
  candidates: number;
}

export function readResolution(value: unknown): ApiResolution | null {
  const o = asObject(value);
  const tag = asString(o?.tag);
  const digest = asString(o?.digest);
  const mediaType = asString(o?.mediaType);
  const candidates = o?.candidates;
  if (!tag || !digest || !mediaType || typeof candidates !== "number") return null;
  return { tag, digest, mediaType, candidates };
}

export function readKind(value: unknown): ApiKind | null {
  const k = asObject(value);
  const id = asString(k?.id);
  if (!k || !id) return null;
  return {
    id,
    title: asString(k.title) ?? id,
    description: asString(k.description) ?? "",
    icon: asString(k.icon) ?? "artifact",
    accessory: k.accessory === true,
  };
}

/** An entry of `…/artifacts` or of `/search`; `repository` is given by the caller for the former. */
export function readArtifact(value: unknown, repository?: string): ApiArtifact | null {
  const a = asObject(value);
  const digest = asString(a?.digest);
  const repo = repository ?? asString(a?.repository);
  if (!a || !digest || !repo) return null;
  return {
    repository: repo,
    digest,
    tags: strings(a.tags),
    kind: asString(a.kind),
    kindTitle: asString(a.kindTitle),
    title: asString(a.title),
    version: asString(a.version),
    description: asString(a.description),
    size: count(a.size),
    pushedAt: asString(a.pushedAt),
    pullCount: count(a.pullCount),
    lastPulled: asString(a.lastPulled),
    platforms: strings(a.platforms),
    accessories: readAccessorySummary(a.accessories),
    ...readSigned(a),
  };
}

/** `signed` and `signatures` of an artifact entry (at most 16 kept, as the registry lists). */
export function readSigned(a: Record<string, unknown>): ApiSigned {
  const signatures = Array.isArray(a.signatures)
    ? a.signatures.slice(0, 16).flatMap((entry): ApiSignature[] => {
        const s = asObject(entry);
        const key = asString(s?.key);
        if (!s || !key) return [];
        return [
          {
            key,
            fingerprint: asString(s.fingerprint),
            format: asString(s.format),
            digest: asString(s.digest),
            verifiedAt: asString(s.verifiedAt),
          },
        ];
      })
    : [];
  return { signed: typeof a.signed === "boolean" ? a.signed : null, signatures };
}

export function readRepositoryName(value: unknown): string | null {
  return asString(asObject(value)?.name);
}

export function readArtifactDetail(value: unknown): ApiArtifactDetail | null {
  const d = asObject(value);
  const kind = asObject(d?.kind);
  const digest = asString(d?.digest);
  const id = asString(kind?.id);
  if (!d || !kind || !digest || !id) return null;
  const accessories: Record<string, ApiAccessory[]> = {};
  for (const [group, list] of Object.entries(asObject(d.accessories) ?? {})) {
    if (!Array.isArray(list)) continue;
    const read = list.map(readAccessory).filter((a): a is ApiAccessory => a !== null);
    if (read.length > 0) accessories[group] = read;
  }
  return {
    repository: asString(d.repository) ?? "",
    digest,
    tags: strings(d.tags),
    kind: {
      id,
      title: asString(kind.title) ?? id,
      icon: asString(kind.icon) ?? "artifact",
      description: asString(kind.description) ?? "",
    },
    facts: asObject(d.facts) ?? {},
    accessories,
    ...readSigned(d),
    actions: Array.isArray(d.actions)
      ? d.actions.flatMap((a) => {
          const action = asObject(a);
          const label = asString(action?.label);
          const command = asString(action?.command);
          return label && command ? [{ label, command }] : [];
        })
      : [],
  };
}

function readAccessory(value: unknown): ApiAccessory | null {
  const a = asObject(value);
  const digest = asString(a?.digest);
  const kind = asString(a?.kind);
  if (!a || !digest || !kind) return null;
  return { digest, kind, kindTitle: asString(a.kindTitle), tags: strings(a.tags), title: asString(a.title) };
}

function readAccessorySummary(value: unknown): ApiAccessorySummary | null {
  const s = asObject(value);
  if (!s) return null;
  const kinds: Record<string, number> = {};
  for (const [id, n] of Object.entries(asObject(s.kinds) ?? {})) {
    const c = count(n);
    if (c !== null && c > 0) kinds[id] = c;
  }
  return { count: count(s.count) ?? 0, kinds };
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function count(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
