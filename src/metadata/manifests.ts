import type { Kysely, Selectable } from "kysely";
import type { Database, ManifestsTable } from "./schema.js";
import { now } from "./time.js";
import { ensureRepository } from "./repositories.js";
import { bumpTagsVersion } from "./tags.js";
import { batches } from "./batches.js";

type Conn = Kysely<Database>;

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
  content: Buffer;
  subjectDigest: string | null;
}

export interface NewManifest {
  repository: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subjectDigest: string | null;
  annotations: Record<string, string> | null;
  content: Buffer;
  references: { digest: string; kind: "blob" | "manifest" }[];
}

/**
 * Stores a manifest (idempotent: the same digest is the same content) with what it references; whether
 * its row is new.
 */
export async function insertManifest(db: Conn, manifest: NewManifest): Promise<boolean> {
  await ensureRepository(db, manifest.repository);
  const inserted = await db
    .insertInto("manifests")
    .values({
      repository: manifest.repository,
      digest: manifest.digest,
      media_type: manifest.mediaType,
      artifact_type: manifest.artifactType,
      subject_digest: manifest.subjectDigest,
      annotations: manifest.annotations ? JSON.stringify(manifest.annotations) : null,
      size: manifest.content.length,
      content: manifest.content,
      created_at: now(),
    })
    .onConflict((oc) => oc.columns(["repository", "digest"]).doNothing())
    .executeTakeFirst();
  const created = Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0;
  // Stored already (a re-push by digest): refreshed, so the manifest sweep, which judges the latest of
  // created_at, touched_at and last_pulled_at, keeps what was just acknowledged. The PUT holds the tag
  // lock the sweep's delete takes too, so the row cannot go between the two statements.
  if (!created) {
    await db
      .updateTable("manifests")
      .set({ touched_at: now() })
      .where("repository", "=", manifest.repository)
      .where("digest", "=", manifest.digest)
      .execute();
  }
  const unique = new Map(manifest.references.map((r) => [r.digest, r.kind]));
  // In batches: a manifest may reference thousands of blobs, more than one statement may bind.
  for (const batch of batches([...unique])) {
    await db
      .insertInto("manifest_references")
      .values(
        batch.map(([childDigest, kind]) => ({
          repository: manifest.repository,
          manifest_digest: manifest.digest,
          child_digest: childDigest,
          kind,
        })),
      )
      .onConflict((oc) => oc.columns(["repository", "manifest_digest", "child_digest"]).doNothing())
      .execute();
  }
  return created;
}

const storedColumns = ["digest", "media_type", "size", "content", "subject_digest"] as const;

function toStored(row: Pick<Selectable<ManifestsTable>, (typeof storedColumns)[number]>): StoredManifest {
  return {
    digest: row.digest,
    mediaType: row.media_type,
    size: Number(row.size),
    content: row.content,
    subjectDigest: row.subject_digest,
  };
}

export async function findManifest(
  db: Conn,
  repository: string,
  digest: string,
): Promise<StoredManifest | null> {
  const row = await db
    .selectFrom("manifests")
    .select(storedColumns)
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .executeTakeFirst();
  return row ? toStored(row) : null;
}

/** The tag's row joined to its manifest's. */
function byTag(db: Conn, repository: string, tag: string) {
  return db
    .selectFrom("tags")
    .innerJoin("manifests", (join) =>
      join
        .onRef("manifests.repository", "=", "tags.repository")
        .onRef("manifests.digest", "=", "tags.digest"),
    )
    .where("tags.repository", "=", repository)
    .where("tags.name", "=", tag);
}

/** What a tag points at, without the manifest's content. */
export interface TagTarget {
  digest: string;
  mediaType: string;
}

export function tagTarget(db: Conn, repository: string, tag: string): Promise<TagTarget | undefined> {
  return byTag(db, repository, tag)
    .select(["manifests.digest as digest", "manifests.media_type as mediaType"])
    .executeTakeFirst();
}

export async function findManifestByTag(
  db: Conn,
  repository: string,
  tag: string,
): Promise<StoredManifest | null> {
  const row = await byTag(db, repository, tag)
    .select(storedColumns.map((c) => `manifests.${c}` as const))
    .executeTakeFirst();
  return row ? toStored(row) : null;
}

/** Sizes of those of `digests` stored as manifests in the repository (in batches, like blob lookups). */
export async function manifestSizes(
  db: Conn,
  repository: string,
  digests: string[],
): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("manifests")
      .select(["digest", "size"])
      .where("repository", "=", repository)
      .where("digest", "in", batch)
      .execute();
    for (const row of rows) sizes.set(row.digest, Number(row.size));
  }
  return sizes;
}

/** Tags removed per statement by deleteManifest: each page is checked before the next is deleted. */
const TAG_DELETE_PAGE = 1000;

/**
 * Deletes a manifest, its references and every tag pointing to it. Returns whether it existed. Each
 * page of deleted tag names goes to `checkRemoved` first (in the caller's transaction: throwing rolls
 * the whole delete back), so a check sees exactly what was removed, including a tag another node
 * committed after any earlier look.
 */
export async function deleteManifest(
  db: Conn,
  repository: string,
  digest: string,
  checkRemoved?: (tags: string[]) => Promise<void>,
): Promise<boolean> {
  let removedAny = false;
  for (;;) {
    const page = db
      .selectFrom("tags")
      .select("name")
      .where("repository", "=", repository)
      .where("digest", "=", digest)
      .limit(TAG_DELETE_PAGE);
    const removed = await db
      .deleteFrom("tags")
      .where("repository", "=", repository)
      // Again here: PostgreSQL re-checks the outer conditions on a row another transaction just moved.
      .where("digest", "=", digest)
      .where("name", "in", page)
      .returning("name")
      .execute();
    if (removed.length > 0) removedAny = true;
    await checkRemoved?.(removed.map((r) => r.name));
    if (removed.length < TAG_DELETE_PAGE) break;
  }
  if (removedAny) await bumpTagsVersion(db, repository);
  await db
    .deleteFrom("manifest_references")
    .where("repository", "=", repository)
    .where("manifest_digest", "=", digest)
    .execute();
  const result = await db
    .deleteFrom("manifests")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
