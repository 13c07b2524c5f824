import type { ColumnType } from "kysely";

/** Sizes are BIGINT: PostgreSQL returns them as strings, so reads go through Number(). */
type BigIntColumn = ColumnType<number | string | bigint, number, number>;

export interface RepositoriesTable {
  name: string;
  created_at: string;
}

export interface BlobsTable {
  digest: string;
  size: BigIntColumn;
  created_at: string;
}

/** Which repositories may serve a blob (content is stored once, linked per repository). */
export interface RepositoryBlobsTable {
  repository: string;
  digest: string;
  created_at: string;
}

export interface ManifestsTable {
  repository: string;
  digest: string;
  media_type: string;
  /** artifactType, or config.mediaType for image manifests without one. */
  artifact_type: string | null;
  subject_digest: string | null;
  /** JSON of the manifest's annotations, for referrers listings. */
  annotations: string | null;
  size: BigIntColumn;
  content: Buffer;
  created_at: string;
}

/** Blobs and child manifests a manifest points to (for deletes and garbage collection). */
export interface ManifestReferencesTable {
  repository: string;
  manifest_digest: string;
  child_digest: string;
  kind: "blob" | "manifest";
}

export interface TagsTable {
  repository: string;
  name: string;
  digest: string;
  updated_at: string;
}

export interface UploadsTable {
  id: string;
  repository: string;
  created_at: string;
  updated_at: string;
}

export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
}
