import { RegistryError } from "../oci/errors.js";
import { isValidDigest } from "../oci/digest.js";
import { renderActions, type ArtifactFacts, type Kind } from "../oci/kinds/index.js";
import { viewManifest } from "../oci/kinds/view.js";
import type { Db } from "../metadata/database.js";
import * as artifacts from "../metadata/artifacts.js";
import type { ArtifactRow } from "../metadata/artifacts.js";
import { listRepositories, repositoryExists } from "../metadata/repositories.js";
import { repositoriesMatching, searchArtifacts } from "../metadata/search-terms.js";
import {
  signatureManifestsOver,
  signatureRecordsOf,
  signaturesOver,
  type ArtifactSignature,
  type SignatureRecord,
} from "../metadata/signatures.js";
import { pullCountsOf, type PullCounts } from "../metadata/pull-stats.js";
import type { TrustState } from "./trust/state.js";
import type { ManifestService, StoredManifest } from "./manifests.js";
import type { BlobService } from "./blobs.js";
import { listFiles, readFile, type FileContent, type FileList, type OpenBlob } from "./discovery-files.js";
import { SIGNATURE_KINDS, verificationOf } from "./discovery-trust.js";
import type { FactsRecorder } from "./facts.js";
import { filteredPage, type Page, type PageRequest } from "./pagination.js";
import {
  decodeCursor,
  encodeCursor,
  invalid,
  MAX_ANNOTATION_FILTERS,
  parseAnnotationFilter,
  requireKind,
  requireName,
  requireQuery,
} from "./discovery-input.js";
import {
  iconUrl,
  type AccessorySummary,
  type AccessoryView,
  type ArtifactDetail,
  type ArtifactSummary,
  type KindView,
  type RepositoryView,
  type SearchRequest,
  type SearchResult,
  type SignedView,
  type Visibility,
} from "./discovery-views.js";

export type { Visibility } from "./discovery-views.js";

const MAX_TAGS_SHOWN = 100;
const MAX_ACCESSORIES = 200;
const MAX_LAYERS_SHOWN = 1000;
/** Signatures listed per artifact (`signed` is true whenever there is at least one). */
const MAX_SIGNATURES_SHOWN = 16;
/** Signature records read for an artifact's accessories' verification status. */
const MAX_SIGNATURE_RECORDS = 4000;

/**
 * The discovery API's domain: kinds, repositories and artifacts with their facts, and search. Every list
 * takes the caller's Visibility and shows only repositories it accepts; names and parameters are
 * validated before any query.
 */
export class DiscoveryService {
  private readonly byId: Map<string, Kind>;
  private trust: TrustState | undefined;

  constructor(
    private readonly db: Db,
    private readonly manifests: ManifestService,
    private readonly facts: FactsRecorder,
    private readonly blobs: BlobService,
    readonly kinds: readonly Kind[],
  ) {
    this.byId = new Map(kinds.map((k) => [k.id, k]));
  }

  /** Listings show signatures by the keys `trust` holds; with none registered, none is looked up. */
  trackTrust(trust: TrustState): void {
    this.trust = trust;
  }

  /** signaturesOver, skipped when no key is trusted (then nothing is signed: no query per listing). */
  private async signaturesOver(
    repository: string,
    digests: readonly string[],
  ): Promise<Map<string, ArtifactSignature[]>> {
    if (this.trust && !(await this.trust.hasKeys())) return new Map();
    return signaturesOver(this.db, repository, digests, MAX_SIGNATURES_SHOWN);
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
    const kind = requireKind(this.byId, filter.kind);
    const prefix = filter.q ? requireQuery(filter.q) : undefined;
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

  /** A repository's artifacts; their actions use `registryHost`. */
  async artifacts(
    repository: string,
    kindFilter: string | undefined,
    page: PageRequest,
    registryHost: string,
    visible: Visibility,
  ): Promise<Page<ArtifactSummary>> {
    await this.requireVisibleRepository(repository, visible);
    const kind = requireKind(this.byId, kindFilter);
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
    const [tags, accessories, signed, pulls] = await Promise.all([
      artifacts.tagsOfMany(this.db, repository, digests, MAX_TAGS_SHOWN),
      artifacts.accessoriesOf(this.db, repository, digests, MAX_ACCESSORIES * 10),
      this.signaturesOver(repository, digests),
      pullCountsOf(this.db, repository, digests),
    ]);
    return {
      items: rows.items.map((row) => ({
        ...this.summaryOf(row),
        ...pullView(pulls.get(row.digest)),
        tags: tags.get(row.digest) ?? [],
        accessories: summarizeAccessories(accessories.filter((a) => a.refers_to === row.digest)),
        ...signedView(signed.get(row.digest)),
        actions: this.actionsOf(row, registryHost, repository, tags.get(row.digest)?.[0] ?? null),
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
    const [tags, accessoryRows, pulls] = await Promise.all([
      artifacts.tagsOf(this.db, repository, manifest.digest, MAX_TAGS_SHOWN),
      this.accessoriesOf(repository, manifest.digest),
      pullCountsOf(this.db, repository, [manifest.digest]),
    ]);
    const accessoryDigests = accessoryRows.map((a) => a.digest);
    const signatureDigests = accessoryRows.filter((a) => SIGNATURE_KINDS.has(a.kind)).map((a) => a.digest);
    const [accessoryTags, signed, records, hasKeys] = await Promise.all([
      artifacts.tagsOfMany(this.db, repository, accessoryDigests, MAX_TAGS_SHOWN),
      // The artifact's and its accessories' (a signed SBOM) in one query.
      this.signaturesOver(repository, [manifest.digest, ...accessoryDigests]),
      signatureDigests.length === 0
        ? Promise.resolve([])
        : signatureRecordsOf(this.db, repository, signatureDigests, MAX_SIGNATURE_RECORDS),
      this.trust ? this.trust.hasKeys() : Promise.resolve(true),
    ]);
    const recordsOf = new Map<string, SignatureRecord[]>();
    for (const r of records) {
      const list = recordsOf.get(r.digest);
      if (list) list.push(r);
      else recordsOf.set(r.digest, [r]);
    }
    const at = new Date().toISOString();
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
        ...signedView(signed.get(a.digest)),
        verification: SIGNATURE_KINDS.has(a.kind)
          ? verificationOf(recordsOf.get(a.digest) ?? [], manifest.digest, hasKeys, at)
          : null,
      });
    }
    const kind = this.byId.get(row.kind) ?? this.byId.get("artifact");
    const actions = this.actionsOf(row, registryHost, repository, byTag ? reference : null);
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
      ...pullView(pulls.get(manifest.digest)),
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
      ...signedView(signed.get(manifest.digest)),
    };
  }

  /** The manifest's bytes as stored, with its media type and digest. */
  async manifest(repository: string, reference: string, visible: Visibility): Promise<StoredManifest> {
    await this.requireVisibleRepository(repository, visible);
    return this.manifests.get(repository, reference);
  }

  /** The files the artifact carries (see discovery-files.ts), as far as the limits allow. */
  async files(repository: string, reference: string, visible: Visibility): Promise<FileList> {
    const { view, open } = await this.fileSource(repository, reference, visible);
    return listFiles(view, open);
  }

  /** One of the artifact's files: its start as text, or flagged binary. */
  async file(repository: string, reference: string, path: string, visible: Visibility): Promise<FileContent> {
    const { view, open } = await this.fileSource(repository, reference, visible);
    return readFile(view, open, path);
  }

  private async fileSource(repository: string, reference: string, visible: Visibility) {
    const manifest = await this.manifest(repository, reference, visible);
    const view = viewManifest(JSON.parse(manifest.content.toString("utf8")));
    // Through the blob service: only blobs the repository links, from whichever store holds them.
    const open: OpenBlob = (digest, limit) => this.blobs.open(repository, digest, limit);
    return { view, open };
  }

  async search(
    request: SearchRequest,
    page: PageRequest,
    registryHost: string,
    visible: Visibility,
  ): Promise<Page<SearchResult>> {
    const kind = requireKind(this.byId, request.kind);
    const prefix = request.q === undefined || request.q.trim() === "" ? null : requireQuery(request.q);
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
    const signedByKey = new Map<string, ArtifactSignature[]>();
    for (const [repository, digests] of digestsByRepository) {
      const [tags, signed] = await Promise.all([
        artifacts.tagsOfMany(this.db, repository, digests, MAX_TAGS_SHOWN),
        // Keyed by the hit's own repository: a signature elsewhere never shows here.
        this.signaturesOver(repository, digests),
      ]);
      for (const [digest, list] of tags) tagsByKey.set(`${repository}@${digest}`, list);
      for (const [digest, list] of signed) signedByKey.set(`${repository}@${digest}`, list);
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
        ...signedView(signedByKey.get(`${hit.repository}@${hit.digest}`)),
        actions: this.actionsOf(row, registryHost, hit.repository, tags[0] ?? null),
      });
    }
    return { items, next: hits.next };
  }

  /** The kind's actions for an artifact, by `tag` when given, else by digest. */
  private actionsOf(row: ArtifactRow, registryHost: string, repository: string, tag: string | null) {
    const kind = this.byId.get(row.kind) ?? this.byId.get("artifact");
    if (!kind) return [];
    return renderActions(kind, {
      registry: registryHost,
      repository,
      tag,
      digest: row.digest,
      subject: row.refers_to,
    });
  }

  /**
   * The artifact's accessories: those recorded as referring to it, and signature manifests whose payloads
   * the trust module recorded as signing it (a cosign `.sig` stored by digest has no tag naming it).
   */
  private async accessoriesOf(repository: string, digest: string): Promise<ArtifactRow[]> {
    const [referring, signing] = await Promise.all([
      artifacts.accessoriesOf(this.db, repository, [digest], MAX_ACCESSORIES),
      signatureManifestsOver(this.db, repository, digest, MAX_ACCESSORIES),
    ]);
    const known = new Set(referring.map((a) => a.digest));
    const missing = signing.filter((d) => !known.has(d)).slice(0, MAX_ACCESSORIES - referring.length);
    if (missing.length === 0) return referring;
    const more = await artifacts.findArtifacts(
      this.db,
      missing.map((d) => ({ repository, digest: d })),
    );
    // Stored by digest, a `.sig` is not recorded as an accessory (no tag names its subject) but is one here.
    return [...referring, ...more.filter((a) => SIGNATURE_KINDS.has(a.kind) && a.digest !== digest)];
  }

  private summaryOf(
    row: ArtifactRow,
  ): Omit<
    ArtifactSummary,
    "tags" | "accessories" | "lastPulled" | "pullCount" | "actions" | keyof SignedView
  > {
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
}

/** What listings show of an artifact's verified signatures (only by keys trusted now). */
function signedView(list: readonly ArtifactSignature[] | undefined): SignedView {
  const signatures = (list ?? []).map((s) => ({
    key: s.key,
    fingerprint: s.fingerprint,
    format: s.format,
    digest: s.digest,
    verifiedAt: s.verifiedAt,
  }));
  return { signed: signatures.length > 0, signatures };
}

function summarizeAccessories(rows: readonly ArtifactRow[]): AccessorySummary {
  const kinds: Record<string, number> = {};
  for (const row of rows) kinds[row.kind] = (kinds[row.kind] ?? 0) + 1;
  return { count: rows.length, kinds };
}

function pullView(counts: PullCounts | undefined): PullCounts {
  return { lastPulled: counts?.lastPulled ?? null, pullCount: counts?.pullCount ?? 0 };
}
