import type { Logger } from "pino";
import type { Db } from "../metadata/database.js";
import type { BlobStore } from "../storage/blob-store.js";
import {
  COSIGN_TAG,
  detectKind,
  extractFacts,
  GENERIC_KIND,
  type ArtifactFacts,
  type Kind,
} from "../oci/kinds/index.js";
import { findManifest } from "../metadata/manifests.js";
import { viewManifest } from "../oci/kinds/view.js";
import * as artifacts from "../metadata/artifacts.js";
import { deleteArtifactTerms, replaceFactTerms, setTagTerms } from "../metadata/search-terms.js";
import { now } from "../metadata/time.js";
import { termsFor } from "./search-index.js";

/** Config blobs larger than this give no config facts (detection and facts work without them). */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** Reading a config blob for facts gives up after this long: a slow store must not hold a push. */
const CONFIG_TIMEOUT_MS = 2000;
/** Children of an index whose facts fill the index's own. */
const MAX_CHILDREN = 64;
/** Tags considered when detecting by the cosign tag convention. */
const MAX_TAGS = 100;
const BACKFILL_BATCH = 100;

/** The tag detection looks at: a cosign-convention tag decides the kind, else the first. */
function detectionTag(tags: readonly string[]): string | null {
  return tags.find((t) => COSIGN_TAG.test(t)) ?? tags[0] ?? null;
}

type ConfigDescriptor = { mediaType: string | null; digest: string | null; size: number };

/**
 * Facts per artifact, extracted once: at push (after the manifest is stored) and, for manifests stored
 * before facts existed, by a background backfill at start-up. Extraction never fails a push: any error
 * stores the artifact with the generic kind.
 */
export class FactsRecorder {
  private stopping = false;
  private backfilling: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    readonly kinds: readonly Kind[],
    private readonly log: Logger,
  ) {}

  /**
   * After a manifest PUT: facts when the artifact has none yet (or a cosign-convention tag may change its
   * kind), then its tags in the search index. Never throws.
   */
  async afterPut(
    repository: string,
    digest: string,
    content: Buffer,
    tags: readonly string[],
  ): Promise<void> {
    try {
      const cosignTag = tags.find((t) => COSIGN_TAG.test(t));
      const known = await artifacts.findArtifact(this.db, repository, digest);
      if (!known || (cosignTag && !known.accessory)) {
        await this.record(repository, digest, content, detectionTag(tags), 1);
      }
      if (tags.length > 0) await setTagTerms(this.db, repository, digest, tags);
    } catch (err) {
      this.log.error({ err, repository, digest }, "recording artifact facts failed");
    }
  }

  /**
   * The stored facts of an artifact, extracted now when it has none yet (stored before facts existed and
   * not reached by the backfill yet). Never throws for a bad manifest: it gets the generic kind.
   */
  async ensure(repository: string, digest: string, content: Buffer): Promise<artifacts.ArtifactRow> {
    const known = await artifacts.findArtifact(this.db, repository, digest);
    if (known) return known;
    const tags = await artifacts.tagsOf(this.db, repository, digest, MAX_TAGS);
    await this.record(repository, digest, content, detectionTag(tags), 1);
    if (tags.length > 0) await setTagTerms(this.db, repository, digest, tags);
    const row = await artifacts.findArtifact(this.db, repository, digest);
    if (!row) throw new Error(`facts of ${repository}@${digest} were not stored`);
    return row;
  }

  /** After a manifest is deleted: its facts and terms go; children of an index are listed on their own. */
  async afterDelete(repository: string, digest: string, children: readonly string[]): Promise<void> {
    try {
      await this.db.transaction().execute(async (trx) => {
        await artifacts.deleteArtifact(trx, repository, digest);
        await deleteArtifactTerms(trx, repository, digest);
        const stillChildren = await artifacts.indexChildrenAmong(trx, repository, children);
        const orphans = children.filter((child) => !stillChildren.has(child));
        await artifacts.setTopLevel(trx, repository, orphans, true);
      });
    } catch (err) {
      this.log.error({ err, repository, digest }, "removing artifact facts failed");
    }
  }

  /** Extracts and stores an artifact's facts; on any failure, stores it as a generic artifact. */
  private async record(
    repository: string,
    digest: string,
    content: Buffer,
    tag: string | null,
    depth: number,
  ): Promise<ArtifactFacts> {
    let facts: ArtifactFacts;
    let annotations: Record<string, string> = {};
    let children: string[] = [];
    try {
      const manifest: unknown = JSON.parse(content.toString("utf8"));
      const view = viewManifest(manifest);
      annotations = view.annotations;
      const config = view.isIndex ? undefined : await this.configOrNothing(repository, view.config);
      const childFacts: ArtifactFacts[] = [];
      if (view.isIndex) {
        children = view.manifests.flatMap((m) => (m.digest ? [m.digest] : [])).slice(0, MAX_CHILDREN);
        childFacts.push(...(await this.childFacts(repository, children, depth)));
      }
      const detection = detectKind({ manifest, config, tag, kinds: this.kinds });
      facts = extractFacts({ manifest, config, tag, kinds: this.kinds, detection, children: childFacts });
    } catch (err) {
      this.log.warn({ err, repository, digest }, "artifact facts could not be extracted; stored as generic");
      facts = genericFacts(this.kinds);
    }
    const topLevel = !facts.accessory && !(await artifacts.isIndexChild(this.db, repository, digest));
    await this.db.transaction().execute(async (trx) => {
      await artifacts.upsertArtifact(trx, {
        repository,
        digest,
        kind: facts.kind,
        kindTitle: facts.kindTitle,
        accessory: facts.accessory,
        refersTo: facts.refersTo,
        topLevel,
        title: facts.title,
        description: facts.description,
        version: facts.version,
        size: facts.size,
        layerCount: facts.layerCount,
        platforms: facts.platforms,
        facts: JSON.stringify(facts),
        pushedAt: now(),
      });
      await replaceFactTerms(trx, repository, digest, termsFor(repository, facts, annotations));
      // An index lists its children: they show under it rather than on their own.
      await artifacts.setTopLevel(trx, repository, children, false);
    });
    return facts;
  }

  private async childFacts(repository: string, children: string[], depth: number): Promise<ArtifactFacts[]> {
    const stored = await artifacts.artifactFacts(this.db, repository, children);
    const result: ArtifactFacts[] = [];
    for (const child of children) {
      const json = stored.get(child);
      if (json) {
        result.push(JSON.parse(json) as ArtifactFacts);
      } else if (depth > 0) {
        // Backfill reaches manifests in digest order: a child may not have its facts yet.
        const row = await findManifest(this.db, repository, child);
        if (row) result.push(await this.record(repository, child, row.content, null, depth - 1));
      }
    }
    return result;
  }

  /** A config that cannot be read (slow or missing) only loses the facts it would have given. */
  private async configOrNothing(repository: string, config: ConfigDescriptor | null): Promise<unknown> {
    try {
      return await this.readConfig(config);
    } catch (err) {
      this.log.warn({ err, repository, digest: config?.digest }, "config blob not read for artifact facts");
      return undefined;
    }
  }

  /** The parsed config blob when it is JSON and small enough; undefined otherwise (facts do without). */
  private async readConfig(config: ConfigDescriptor | null): Promise<unknown> {
    if (!config?.digest || config.size > MAX_CONFIG_BYTES || config.size <= 2) return undefined;
    if (!config.mediaType || !/json/i.test(config.mediaType)) return undefined;
    const stream = await this.store.read(config.digest, { start: 0, end: config.size - 1 });
    const chunks: Buffer[] = [];
    let length = 0;
    const timer = setTimeout(() => stream.destroy(new Error("config read timed out")), CONFIG_TIMEOUT_MS);
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        length += chunk.length;
        if (length > MAX_CONFIG_BYTES) return undefined;
        chunks.push(chunk);
      }
    } finally {
      clearTimeout(timer);
      stream.destroy();
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
    } catch {
      return undefined;
    }
  }

  /**
   * Starts the backfill in the background; it never blocks serving and resumes where a restart left it.
   * Every node runs it at its start: facts derive from the manifest alone and are upserted (the artifact
   * row first, which locks it, so two replacements of one artifact's terms run one after the other), so
   * two nodes backfilling at once only duplicate work, they cannot disagree.
   */
  startBackfill(): void {
    this.backfilling = this.backfill().catch((err: unknown) => {
      this.log.error({ err }, "artifact facts backfill failed; it resumes at the next start");
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.backfilling;
  }

  /** Facts for every manifest without them, in batches, yielding to requests between batches. */
  private async backfill(): Promise<void> {
    let after: { repository: string; digest: string } | undefined;
    let done = 0;
    while (!this.stopping) {
      const batch = await artifacts.manifestsWithoutFacts(this.db, after, BACKFILL_BATCH);
      for (const m of batch) {
        if (this.stopping) break;
        // A child recorded early through its index has facts already.
        if (await artifacts.findArtifact(this.db, m.repository, m.digest)) continue;
        const tags = await artifacts.tagsOf(this.db, m.repository, m.digest, MAX_TAGS);
        const tag = detectionTag(tags);
        try {
          await this.record(m.repository, m.digest, m.content, tag, 1);
          if (tags.length > 0) await setTagTerms(this.db, m.repository, m.digest, tags);
        } catch (err) {
          this.log.error({ err, repository: m.repository, digest: m.digest }, "backfilling facts failed");
        }
        done += 1;
      }
      const last = batch.at(-1);
      if (!last || batch.length < BACKFILL_BATCH) break;
      after = { repository: last.repository, digest: last.digest };
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (done > 0) this.log.info({ artifacts: done }, "backfilled artifact facts");
  }
}

function genericFacts(kinds: readonly Kind[]): ArtifactFacts {
  const generic = kinds.find((k) => k.id === GENERIC_KIND.id) ?? GENERIC_KIND;
  return {
    kind: generic.id,
    kindTitle: generic.title,
    accessory: false,
    refersTo: null,
    title: null,
    description: null,
    version: null,
    source: null,
    revision: null,
    licenses: null,
    authors: null,
    created: null,
    url: null,
    platforms: [],
    size: 0,
    layerCount: 0,
    chart: null,
    model: null,
    sbom: null,
    predicateType: null,
  };
}
