import { tagsOf as tagPage } from "./tags.js";
import type { Kysely, Selectable } from "kysely";
import type { ArtifactsTable, Database } from "./schema.js";
import { batches } from "./batches.js";

type Conn = Kysely<Database>;
export type ArtifactRow = Selectable<ArtifactsTable>;

export interface NewArtifact {
  repository: string;
  digest: string;
  kind: string;
  kindTitle: string;
  accessory: boolean;
  refersTo: string | null;
  topLevel: boolean;
  title: string | null;
  description: string | null;
  version: string | null;
  size: number;
  layerCount: number;
  platforms: string[];
  /** JSON of every fact, for the detail view. */
  facts: string;
  pushedAt: string;
}

/** Stores (or replaces) an artifact's facts. */
export async function upsertArtifact(db: Conn, a: NewArtifact): Promise<void> {
  const row = {
    kind: a.kind,
    kind_title: a.kindTitle,
    accessory: a.accessory ? 1 : 0,
    refers_to: a.refersTo,
    top_level: a.topLevel ? 1 : 0,
    title: a.title,
    description: a.description,
    version: a.version,
    size: a.size,
    layer_count: a.layerCount,
    platforms: JSON.stringify(a.platforms),
    facts: a.facts,
  };
  await db
    .insertInto("artifacts")
    .values({ repository: a.repository, digest: a.digest, pushed_at: a.pushedAt, ...row })
    .onConflict((oc) => oc.columns(["repository", "digest"]).doUpdateSet(row))
    .execute();
}

export async function findArtifact(
  db: Conn,
  repository: string,
  digest: string,
): Promise<ArtifactRow | null> {
  const row = await db
    .selectFrom("artifacts")
    .selectAll()
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .executeTakeFirst();
  return row ?? null;
}

/** Stored facts JSON of those of `digests` the repository has facts for. */
export async function artifactFacts(
  db: Conn,
  repository: string,
  digests: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("artifacts")
      .select(["digest", "facts"])
      .where("repository", "=", repository)
      .where("digest", "in", batch)
      .execute();
    for (const row of rows) found.set(row.digest, row.facts);
  }
  return found;
}

export async function deleteArtifact(db: Conn, repository: string, digest: string): Promise<void> {
  await db
    .deleteFrom("artifacts")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .execute();
}

/** Marks children of an index as listed under it (or, after the index went, on their own again). */
export async function setTopLevel(
  db: Conn,
  repository: string,
  digests: readonly string[],
  topLevel: boolean,
): Promise<void> {
  for (const batch of batches(digests)) {
    let query = db
      .updateTable("artifacts")
      .set({ top_level: topLevel ? 1 : 0 })
      .where("repository", "=", repository)
      .where("digest", "in", batch);
    // An accessory is never listed on its own.
    if (topLevel) query = query.where("accessory", "=", 0);
    await query.execute();
  }
}

/** Whether an index in the repository lists the manifest. */
export async function isIndexChild(db: Conn, repository: string, digest: string): Promise<boolean> {
  const row = await db
    .selectFrom("manifest_references")
    .select("manifest_digest")
    .where("repository", "=", repository)
    .where("child_digest", "=", digest)
    .where("kind", "=", "manifest")
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Which of `digests` are children of an index in the repository (one query per batch). */
export async function indexChildrenAmong(
  db: Conn,
  repository: string,
  digests: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("manifest_references")
      .select("child_digest")
      .distinct()
      .where("repository", "=", repository)
      .where("kind", "=", "manifest")
      .where("child_digest", "in", batch)
      .execute();
    for (const row of rows) found.add(row.child_digest);
  }
  return found;
}

export interface ArtifactFilter {
  kind?: string;
  /** Digest after which to start (pages are in digest order). */
  last?: string;
  limit: number;
}

/** Artifacts listed on their own in a repository, in digest order. */
export async function listTopLevel(
  db: Conn,
  repository: string,
  filter: ArtifactFilter,
): Promise<ArtifactRow[]> {
  let query = db
    .selectFrom("artifacts")
    .selectAll()
    .where("repository", "=", repository)
    .where("top_level", "=", 1)
    .orderBy("digest")
    .limit(filter.limit);
  if (filter.kind !== undefined) query = query.where("kind", "=", filter.kind);
  if (filter.last !== undefined) query = query.where("digest", ">", filter.last);
  return query.execute();
}

export async function findArtifacts(
  db: Conn,
  keys: readonly { repository: string; digest: string }[],
): Promise<ArtifactRow[]> {
  const rows: ArtifactRow[] = [];
  const byRepository = new Map<string, string[]>();
  for (const k of keys) byRepository.set(k.repository, [...(byRepository.get(k.repository) ?? []), k.digest]);
  for (const [repository, digests] of byRepository) {
    for (const batch of batches(digests)) {
      rows.push(
        ...(await db
          .selectFrom("artifacts")
          .selectAll()
          .where("repository", "=", repository)
          .where("digest", "in", batch)
          .execute()),
      );
    }
  }
  return rows;
}

/** Accessories of the given artifacts (at most `limit` in all), by the digest they refer to. */
export async function accessoriesOf(
  db: Conn,
  repository: string,
  subjects: readonly string[],
  limit: number,
): Promise<ArtifactRow[]> {
  const rows: ArtifactRow[] = [];
  for (const batch of batches(subjects)) {
    if (rows.length >= limit) break;
    rows.push(
      ...(await db
        .selectFrom("artifacts")
        .selectAll()
        .where("repository", "=", repository)
        .where("refers_to", "in", batch)
        .where("accessory", "=", 1)
        .orderBy("digest")
        .limit(limit - rows.length)
        .execute()),
    );
  }
  return rows;
}

export interface RepositorySummaryRow {
  repository: string;
  size: number;
  lastPush: string | null;
  artifacts: number;
}

/** Per repository of `names`: bytes, newest push and count of artifacts. */
export async function repositorySummaries(
  db: Conn,
  names: readonly string[],
): Promise<Map<string, RepositorySummaryRow>> {
  const result = new Map<string, RepositorySummaryRow>();
  for (const batch of batches(names)) {
    const rows = await db
      .selectFrom("artifacts")
      .select((eb) => [
        "repository",
        eb.fn.sum<number | string>("size").as("size"),
        eb.fn.max("pushed_at").as("last_push"),
        eb.fn.countAll<number | string>().as("artifacts"),
      ])
      .where("repository", "in", batch)
      .groupBy("repository")
      .execute();
    for (const r of rows) {
      result.set(r.repository, {
        repository: r.repository,
        size: Number(r.size ?? 0),
        lastPush: r.last_push ?? null,
        artifacts: Number(r.artifacts),
      });
    }
  }
  return result;
}

/** Distinct kinds of listed artifacts per repository of `names`. */
export async function repositoryKinds(db: Conn, names: readonly string[]): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  for (const batch of batches(names)) {
    const rows = await db
      .selectFrom("artifacts")
      .select(["repository", "kind"])
      .distinct()
      .where("repository", "in", batch)
      .where("top_level", "=", 1)
      .orderBy("repository")
      .orderBy("kind")
      .execute();
    for (const r of rows) result.set(r.repository, [...(result.get(r.repository) ?? []), r.kind]);
  }
  return result;
}

/** The description of each repository's newest listed artifact that has one (one index seek each). */
export async function repositoryDescriptions(
  db: Conn,
  names: readonly string[],
): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const batch of batches(names)) {
    const rows = await db
      .selectFrom("repositories as r")
      .select((eb) => [
        "r.name",
        eb
          .selectFrom("artifacts as a")
          .select("a.description")
          .whereRef("a.repository", "=", "r.name")
          .where("a.top_level", "=", 1)
          .where("a.description", "is not", null)
          .orderBy("a.pushed_at", "desc")
          .limit(1)
          .as("description"),
      ])
      .where("r.name", "in", batch)
      .execute();
    for (const row of rows) if (row.description) result.set(row.name, row.description);
  }
  return result;
}

/** Repositories in name order that hold a listed artifact of `kind`, after `last`. */
export async function repositoriesWithKind(
  db: Conn,
  kind: string,
  last: string | undefined,
  limit: number,
): Promise<string[]> {
  let query = db
    .selectFrom("artifacts")
    .select("repository")
    .distinct()
    .where("kind", "=", kind)
    .where("top_level", "=", 1)
    .orderBy("repository")
    .limit(limit);
  if (last !== undefined) query = query.where("repository", ">", last);
  return (await query.execute()).map((r) => r.repository);
}

export interface PendingManifest {
  repository: string;
  digest: string;
  content: Buffer;
}

/** Manifests stored without facts (written before facts existed), in key order after `after`. */
export async function manifestsWithoutFacts(
  db: Conn,
  after: { repository: string; digest: string } | undefined,
  limit: number,
): Promise<PendingManifest[]> {
  let query = db
    .selectFrom("manifests as m")
    .leftJoin("artifacts as a", (join) =>
      join.onRef("a.repository", "=", "m.repository").onRef("a.digest", "=", "m.digest"),
    )
    .select(["m.repository", "m.digest", "m.content"])
    .where("a.digest", "is", null)
    .orderBy("m.repository")
    .orderBy("m.digest")
    .limit(limit);
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb("m.repository", ">", after.repository),
        eb.and([eb("m.repository", "=", after.repository), eb("m.digest", ">", after.digest)]),
      ]),
    );
  }
  return query.execute();
}

/** Child manifests an index references in the repository. */
export async function indexChildren(db: Conn, repository: string, digest: string): Promise<string[]> {
  const rows = await db
    .selectFrom("manifest_references")
    .select("child_digest")
    .where("repository", "=", repository)
    .where("manifest_digest", "=", digest)
    .where("kind", "=", "manifest")
    .execute();
  return rows.map((r) => r.child_digest);
}

/** Tags on a manifest, in order, at most `limit` (the first page of metadata/tags.ts's tagsOf). */
export function tagsOf(db: Conn, repository: string, digest: string, limit: number): Promise<string[]> {
  return tagPage(db, repository, digest, undefined, limit);
}

/** Tags on each of `digests` in the repository (at most `perDigest` each). */
export async function tagsOfMany(
  db: Conn,
  repository: string,
  digests: readonly string[],
  perDigest: number,
): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("tags")
      .select(["digest", "name"])
      .where("repository", "=", repository)
      .where("digest", "in", batch)
      .orderBy("name")
      .execute();
    for (const r of rows) {
      const list = result.get(r.digest) ?? [];
      if (list.length < perDigest) list.push(r.name);
      result.set(r.digest, list);
    }
  }
  return result;
}

export async function tagCounts(db: Conn, names: readonly string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const batch of batches(names)) {
    const rows = await db
      .selectFrom("tags")
      .select((eb) => ["repository", eb.fn.countAll<number | string>().as("n")])
      .where("repository", "in", batch)
      .groupBy("repository")
      .execute();
    for (const r of rows) result.set(r.repository, Number(r.n));
  }
  return result;
}
