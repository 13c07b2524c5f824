import { RegistryError } from "../oci/errors.js";
import { isValidDigest } from "../oci/digest.js";
import { isValidRepositoryName } from "../oci/names.js";
import { renderActions, type ArtifactFacts, type Kind, type RenderedAction } from "../oci/kinds/index.js";
import { viewManifest } from "../oci/kinds/view.js";
import type { Db } from "../metadata/database.js";
import * as artifacts from "../metadata/artifacts.js";
import type { ArtifactRow } from "../metadata/artifacts.js";
import { listRepositories, repositoryExists } from "../metadata/repositories.js";
import {
  repositoriesMatching,
  searchArtifacts,
  SEARCH_TIERS,
  type SearchCursor,
} from "../metadata/search-terms.js";
import type { ManifestService } from "./manifests.js";
import type { FactsRecorder } from "./facts.js";
import { filteredPage, type Page, type PageRequest } from "./pagination.js";
import { annotationFilterTerm, normalizeTerm } from "./search-index.js";

/** Whether the caller may pull a repository; undefined when everyone may (an open registry). */
export type Visibility = ((repository: string) => Promise<boolean>) | undefined;

const MAX_TAGS_SHOWN = 100;
const MAX_ACCESSORIES = 200;
const MAX_LAYERS_SHOWN = 1000;
const MAX_QUERY = 200;
export const MAX_ANNOTATION_FILTERS = 8;
const KIND_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export interface KindView {
  id: string;
  title: string;
  description: string;
  icon: string;
  iconUrl: string;
  accessory: boolean;
  hiddenFromPlatforms: boolean;
  detect: Kind["detect"];
  actions: Kind["actions"];
}

export interface RepositoryView {
  name: string;
  kinds: string[];
  tagCount: number;
  artifactCount: number;
  size: number;
  lastPush: string | null;
  description: string | null;
}

export interface AccessorySummary {
  count: number;
  /** Count per kind id. */
  kinds: Record<string, number>;
}

export interface ArtifactSummary {
  digest: string;
  tags: string[];
  kind: string;
  kindTitle: string;
  iconUrl: string;
  title: string | null;
  version: string | null;
  description: string | null;
  size: number;
  pushedAt: string;
  platforms: string[];
  accessories: AccessorySummary;
}

export interface AccessoryView {
  digest: string;
  kind: string;
  kindTitle: string;
  iconUrl: string;
  tags: string[];
  title: string | null;
  pushedAt: string;
  facts: ArtifactFacts;
}

export interface ArtifactDetail {
  repository: string;
  digest: string;
  mediaType: string;
  tags: string[];
  kind: { id: string; title: string; icon: string; iconUrl: string; description: string };
  facts: ArtifactFacts;
  pushedAt: string;
  annotations: Record<string, string>;
  subject: string | null;
  config: { mediaType: string | null; digest: string | null; size: number } | null;
  layers: {
    mediaType: string | null;
    digest: string | null;
    size: number;
    annotations: Record<string, string>;
  }[];
  manifests: { mediaType: string | null; digest: string | null; size: number; platform: string | null }[];
  /** Accessories of this artifact, by kind id. */
  accessories: Record<string, AccessoryView[]>;
  actions: RenderedAction[];
}

export interface SearchResult {
  repository: string;
  digest: string;
  tags: string[];
  kind: string;
  kindTitle: string;
  iconUrl: string;
  title: string | null;
  version: string | null;
  description: string | null;
  score: number;
}

export interface SearchRequest {
  q: string | undefined;
  kind: string | undefined;
  /** `key=value` filters, as given. */
  annotations: string[];
}

export function iconUrl(kind: string): string {
  return `/api/v1/kinds/${kind}/icon.svg`;
}

/**
 * The discovery API's domain: kinds, repositories and artifacts with their facts, and search. Every list
 * takes the caller's Visibility and shows only repositories it accepts; names and parameters are
 * validated before any query.
 */
export class DiscoveryService {
  private readonly byId: Map<string, Kind>;

  constructor(
    private readonly db: Db,
    private readonly manifests: ManifestService,
    private readonly facts: FactsRecorder,
    readonly kinds: readonly Kind[],
  ) {
    this.byId = new Map(kinds.map((k) => [k.id, k]));
  }

  kind(id: string): Kind | undefined {
    return this.byId.get(id);
  }

  kindList(page: PageRequest): Page<KindView> {
    const start = page.last === undefined ? 0 : this.kinds.findIndex((k) => k.id === page.last) + 1;
    const slice = this.kinds.slice(start, start + page.limit);
    const more = start + page.limit < this.kinds.length;
    return {
      items: slice.map((k) => ({
        id: k.id,
        title: k.title,
        description: k.description,
        icon: k.icon,
        iconUrl: iconUrl(k.id),
        accessory: k.accessory,
        hiddenFromPlatforms: k.hiddenFromPlatforms,
        detect: k.detect,
        actions: k.actions,
      })),
      next: more && slice.length > 0 ? slice.at(-1)!.id : undefined,
    };
  }

  async repositories(
    filter: { kind: string | undefined; q: string | undefined },
    page: PageRequest,
    visible: Visibility,
  ): Promise<Page<RepositoryView>> {
    const kind = this.requireKind(filter.kind);
    const prefix = filter.q ? this.requireQuery(filter.q) : undefined;
    if (page.last !== undefined) requireName(page.last, "last");
    const names = await filteredPage(
      page,
      (last, limit) => {
        if (prefix) return repositoriesMatching(this.db, prefix, kind, last, limit);
        if (kind) return artifacts.repositoriesWithKind(this.db, kind, last, limit);
        return listRepositories(this.db, last, limit);
      },
      (name) => name,
      visible,
    );
    const [summaries, kinds, tags, descriptions] = await Promise.all([
      artifacts.repositorySummaries(this.db, names.items),
      artifacts.repositoryKinds(this.db, names.items),
      artifacts.tagCounts(this.db, names.items),
      artifacts.repositoryDescriptions(this.db, names.items),
    ]);
    return {
      items: names.items.map((name) => ({
        name,
        kinds: kinds.get(name) ?? [],
        tagCount: tags.get(name) ?? 0,
        artifactCount: summaries.get(name)?.artifacts ?? 0,
        size: summaries.get(name)?.size ?? 0,
        lastPush: summaries.get(name)?.lastPush ?? null,
        description: descriptions.get(name) ?? null,
      })),
      next: names.next,
    };
  }

  async artifacts(
    repository: string,
    kindFilter: string | undefined,
    page: PageRequest,
    visible: Visibility,
  ): Promise<Page<ArtifactSummary>> {
    await this.requireVisibleRepository(repository, visible);
    const kind = this.requireKind(kindFilter);
    if (page.last !== undefined && !isValidDigest(page.last)) {
      throw invalid("last must be a digest from the previous page's Link", "last");
    }
    const rows = await filteredPage(
      page,
      (last, limit) => artifacts.listTopLevel(this.db, repository, { kind, last, limit }),
      (row) => row.digest,
      undefined,
    );
    const digests = rows.items.map((r) => r.digest);
    const [tags, accessories] = await Promise.all([
      artifacts.tagsOfMany(this.db, repository, digests, MAX_TAGS_SHOWN),
      artifacts.accessoriesOf(this.db, repository, digests, MAX_ACCESSORIES * 10),
    ]);
    return {
      items: rows.items.map((row) => ({
        ...this.summaryOf(row),
        tags: tags.get(row.digest) ?? [],
        accessories: summarizeAccessories(accessories.filter((a) => a.refers_to === row.digest)),
      })),
      next: rows.next,
    };
  }

  /** One artifact by tag or digest, with everything known of it; actions use `registryHost`. */
  async artifact(
    repository: string,
    reference: string,
    registryHost: string,
    visible: Visibility,
  ): Promise<ArtifactDetail> {
    await this.requireVisibleRepository(repository, visible);
    const manifest = await this.manifests.get(repository, reference);
    // Stored before facts existed and not reached by the backfill yet: extracted now.
    const row = await this.facts.ensure(repository, manifest.digest, manifest.content);
    const facts = JSON.parse(row.facts) as ArtifactFacts;
    const view = viewManifest(JSON.parse(manifest.content.toString("utf8")));
    const byTag = !reference.includes(":");
    const [tags, accessoryRows] = await Promise.all([
      artifacts.tagsOf(this.db, repository, manifest.digest, MAX_TAGS_SHOWN),
      artifacts.accessoriesOf(this.db, repository, [manifest.digest], MAX_ACCESSORIES),
    ]);
    const accessoryTags = await artifacts.tagsOfMany(
      this.db,
      repository,
      accessoryRows.map((a) => a.digest),
      MAX_TAGS_SHOWN,
    );
    const accessories: Record<string, AccessoryView[]> = {};
    for (const a of accessoryRows) {
      (accessories[a.kind] ??= []).push({
        digest: a.digest,
        kind: a.kind,
        kindTitle: a.kind_title,
        iconUrl: iconUrl(a.kind),
        tags: accessoryTags.get(a.digest) ?? [],
        title: a.title,
        pushedAt: a.pushed_at,
        facts: JSON.parse(a.facts) as ArtifactFacts,
      });
    }
    const kind = this.byId.get(row.kind) ?? this.byId.get("artifact");
    const actions = kind
      ? renderActions(kind, {
          registry: registryHost,
          repository,
          tag: byTag ? reference : null,
          digest: manifest.digest,
          subject: row.refers_to,
        })
      : [];
    return {
      repository,
      digest: manifest.digest,
      mediaType: manifest.mediaType,
      tags,
      kind: {
        id: row.kind,
        title: row.kind_title,
        icon: kind?.icon ?? "artifact",
        iconUrl: iconUrl(row.kind),
        description: kind?.description ?? "",
      },
      facts,
      pushedAt: row.pushed_at,
      annotations: view.annotations,
      subject: view.subject,
      config: view.config
        ? { mediaType: view.config.mediaType, digest: view.config.digest, size: view.config.size }
        : null,
      layers: view.layers.slice(0, MAX_LAYERS_SHOWN).map((l) => ({
        mediaType: l.mediaType,
        digest: l.digest,
        size: l.size,
        annotations: l.annotations,
      })),
      manifests: view.manifests.slice(0, MAX_LAYERS_SHOWN).map((m) => ({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        platform: m.platform,
      })),
      accessories,
      actions,
    };
  }

  async search(request: SearchRequest, page: PageRequest, visible: Visibility): Promise<Page<SearchResult>> {
    const kind = this.requireKind(request.kind);
    const prefix = request.q === undefined || request.q.trim() === "" ? null : this.requireQuery(request.q);
    if (request.annotations.length > MAX_ANNOTATION_FILTERS) {
      throw invalid(`at most ${MAX_ANNOTATION_FILTERS} annotation filters`, "annotation");
    }
    const annotations = request.annotations.map(parseAnnotationFilter);
    if (prefix === null && annotations.length === 0) {
      throw invalid("give q (a search text) or an annotation=key=value filter", "q");
    }
    if (page.last !== undefined) decodeCursor(page.last);
    const hits = await filteredPage(
      page,
      (last, limit) =>
        searchArtifacts(this.db, {
          prefix,
          kind,
          annotations,
          after: last === undefined ? undefined : decodeCursor(last),
          limit,
        }),
      encodeCursor,
      visible ? (hit) => visible(hit.repository) : undefined,
    );
    const rows = await artifacts.findArtifacts(this.db, hits.items);
    const byKey = new Map(rows.map((r) => [`${r.repository}@${r.digest}`, r]));
    // Tags by repository: one query per repository on the page rather than one per hit.
    const digestsByRepository = new Map<string, string[]>();
    for (const hit of hits.items) {
      digestsByRepository.set(hit.repository, [
        ...(digestsByRepository.get(hit.repository) ?? []),
        hit.digest,
      ]);
    }
    const tagsByKey = new Map<string, string[]>();
    for (const [repository, digests] of digestsByRepository) {
      const tags = await artifacts.tagsOfMany(this.db, repository, digests, MAX_TAGS_SHOWN);
      for (const [digest, list] of tags) tagsByKey.set(`${repository}@${digest}`, list);
    }
    const items: SearchResult[] = [];
    for (const hit of hits.items) {
      const row = byKey.get(`${hit.repository}@${hit.digest}`);
      if (!row) continue;
      const tags = tagsByKey.get(`${hit.repository}@${hit.digest}`) ?? [];
      const summary = this.summaryOf(row);
      items.push({
        repository: hit.repository,
        digest: hit.digest,
        tags,
        kind: summary.kind,
        kindTitle: summary.kindTitle,
        iconUrl: summary.iconUrl,
        title: summary.title,
        version: summary.version,
        description: summary.description,
        score: hit.score,
      });
    }
    return { items, next: hits.next };
  }

  private summaryOf(row: ArtifactRow): Omit<ArtifactSummary, "tags" | "accessories"> {
    return {
      digest: row.digest,
      kind: row.kind,
      kindTitle: row.kind_title,
      iconUrl: iconUrl(row.kind),
      title: row.title,
      version: row.version,
      description: row.description,
      size: Number(row.size),
      pushedAt: row.pushed_at,
      platforms: JSON.parse(row.platforms) as string[],
    };
  }

  /** A repository the caller may not pull is as unknown as one that does not exist. */
  private async requireVisibleRepository(repository: string, visible: Visibility): Promise<void> {
    requireName(repository, "name");
    if ((visible && !(await visible(repository))) || !(await repositoryExists(this.db, repository))) {
      throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", { name: repository });
    }
  }

  private requireKind(kind: string | undefined): string | undefined {
    if (kind === undefined || kind === "") return undefined;
    if (kind.length > 64 || !KIND_ID.test(kind) || !this.byId.has(kind)) {
      throw invalid("unknown kind; see GET /api/v1/kinds", "kind", kind.slice(0, 64));
    }
    return kind;
  }

  private requireQuery(q: string): string {
    if (q.length > MAX_QUERY) throw invalid(`q must be at most ${MAX_QUERY} characters`, "q");
    const prefix = normalizeTerm(q);
    // eslint-disable-next-line no-control-regex -- a query is one line of text
    if (/[\u0000-\u001f\u007f]/.test(prefix)) throw invalid("q must not contain control characters", "q");
    if (prefix.length === 0) throw invalid("q must not be empty", "q");
    return prefix;
  }
}

function summarizeAccessories(rows: readonly ArtifactRow[]): AccessorySummary {
  const kinds: Record<string, number> = {};
  for (const row of rows) kinds[row.kind] = (kinds[row.kind] ?? 0) + 1;
  return { count: rows.length, kinds };
}

function requireName(name: string, parameter: string): void {
  if (!isValidRepositoryName(name)) {
    throw new RegistryError("NAME_INVALID", "invalid repository name", {
      parameter,
      name: name.slice(0, 300),
    });
  }
}

function parseAnnotationFilter(filter: string): string {
  const eq = filter.indexOf("=");
  if (eq <= 0 || filter.length > 512) {
    throw invalid(
      "annotation filters are key=value, at most 512 characters",
      "annotation",
      filter.slice(0, 100),
    );
  }
  return annotationFilterTerm(filter.slice(0, eq), filter.slice(eq + 1));
}

function encodeCursor(hit: SearchCursor): string {
  return Buffer.from(JSON.stringify([hit.tier, hit.score, hit.repository, hit.digest])).toString("base64url");
}

function decodeCursor(text: string): SearchCursor {
  try {
    if (text.length > 1024) throw new Error("too long");
    const [tier, score, repository, digest] = JSON.parse(
      Buffer.from(text, "base64url").toString("utf8"),
    ) as unknown[];
    if (
      typeof tier === "number" &&
      Number.isInteger(tier) &&
      tier >= 0 &&
      tier < SEARCH_TIERS.length &&
      typeof score === "number" &&
      Number.isInteger(score) &&
      typeof repository === "string" &&
      isValidRepositoryName(repository) &&
      typeof digest === "string" &&
      isValidDigest(digest)
    ) {
      return { tier, score, repository, digest };
    }
  } catch {
    // Reported below.
  }
  throw invalid("last must be the value from the previous page's Link", "last");
}

function invalid(message: string, parameter: string, value?: string): RegistryError {
  return new RegistryError(
    "INVALID_REQUEST",
    message,
    value === undefined ? { parameter } : { parameter, value },
  );
}
