/** One quota as GET/POST /api/v1/quotas answer it. */
export interface QuotaDto {
  name: string;
  /** The namespace: a repository glob such as `team-a/**`. */
  repositories: string;
  /** Bytes the namespace may hold (each digest counted once). */
  limit: number;
  /** Bytes it holds now. */
  used: number;
  createdBy: string;
  createdAt: string;
}

/** One repository in GET /api/v1/usage. */
export interface RepositoryUsageDto {
  repository: string;
  /** Bytes of every digest it holds (blobs linked to it and its manifests, each digest once). */
  bytes: number;
  /** Bytes no other repository holds. */
  unique: number;
  /** Bytes other repositories hold too (bytes - unique). */
  shared: number;
  blobs: number;
  manifests: number;
}

/** GET /api/v1/usage?namespace=GLOB[&after=REPOSITORY][&limit=N]. */
export interface UsageDto {
  namespace: string;
  repositories: RepositoryUsageDto[];
  /** Pass as `after` for the next page; absent on the last. */
  next?: string;
  /** The whole namespace, each digest once (on the first page only: it reads every holder). */
  total?: { bytes: number; digests: number };
}
