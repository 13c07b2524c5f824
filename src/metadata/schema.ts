import type { ColumnType, Generated } from "kysely";

/** Sizes are BIGINT: PostgreSQL returns them as strings, so reads go through Number(). */
type BigIntColumn = ColumnType<number | string | bigint, number, number>;

export interface RepositoriesTable {
  name: string;
  created_at: string;
  /** Bumped in the transaction of every change to the repository's tags (the tag list's ETag). */
  tags_version: ColumnType<number | string | bigint, number | undefined, number>;
}

/**
 * A blob the store holds (or is about to: an upload claims its row before committing the bytes).
 * `status` is `live`, or `deleting` once a sweep has claimed it (compare-and-swap on `version`); the row
 * goes once the bytes have. `generation` is new each time the row is created; `touched_at` is the last
 * time anything gave the blob, or could have given it, a reference (see src/registry/gc/).
 */
export interface BlobsTable {
  digest: string;
  size: BigIntColumn;
  created_at: string;
  status: ColumnType<"live" | "deleting", "live" | "deleting" | undefined, "live" | "deleting">;
  generation: ColumnType<string, string | undefined, string>;
  version: ColumnType<number | string | bigint, number | undefined, number>;
  touched_at: ColumnType<string | null, string | undefined, string>;
}

/** Which repositories may serve a blob (content is stored once, linked per repository). */
export interface RepositoryBlobsTable {
  repository: string;
  digest: string;
  created_at: string;
  /** Last time a push, mount or read of the blob in this repository relied on the link. */
  touched_at: ColumnType<string | null, string | undefined, string>;
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
  /** Pull statistics, flushed in batches (see src/registry/pull-stats.ts). */
  last_pulled_at: ColumnType<string | null, string | undefined, string>;
  pull_count: ColumnType<number | string | bigint, number | undefined, number>;
  /** Last PUT of this content again (null: never re-pushed, created_at stands for it). */
  touched_at: ColumnType<string | null, string | undefined, string>;
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
  /** Bytes received so far (the store holds exactly these once the request that sent them ended). */
  size: ColumnType<number | string | bigint, number | undefined, number>;
  /** Saved SHA-256 state after `size` bytes; null when it must be recomputed from the data. */
  hash_state: Buffer | null;
  /** The blob store's UploadState for this upload. */
  store_state: string | null;
  /** The request writing to the upload now, and until when its lease holds (a crashed node's expires). */
  lease_token: string | null;
  lease_until: string | null;
}

export interface UsersTable {
  name: string;
  password_hash: string;
  /** 1 for registry administrators (integers: booleans differ across SQL dialects). */
  admin: number;
  /** Bumped on every password change: refresh tokens carry it, so old ones stop working. */
  version: number;
  created_at: string;
  updated_at: string;
}

/** CI identities: a hashed secret limited to repository patterns and actions, until expiry or revocation. */
export interface RobotsTable {
  name: string;
  secret_hash: string;
  /** JSON arrays of glob patterns and of actions. */
  repositories: string;
  actions: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  created_by: string;
  created_at: string;
}

/** Grants: subject (`anonymous`, `authenticated`, `user:NAME`, `robot:NAME`) may do actions on a pattern. */
export interface AccessRulesTable {
  id: string;
  subject: string;
  pattern: string;
  /** JSON array of actions. */
  actions: string;
  created_by: string;
  created_at: string;
}

export interface AuditEventsTable {
  seq: Generated<number>;
  at: string;
  actor: string;
  client: string;
  action: string;
  repository: string | null;
  target: string | null;
  outcome: string;
  /** JSON object with whatever else matters for this action. */
  detail: string | null;
}

/** Facts about the data directory that must survive restarts (for example: auth has been enabled). */
export interface SettingsTable {
  key: string;
  value: string;
}

/** Facts extracted from a manifest (and its config) once, at push or by the start-up backfill. */
export interface ArtifactsTable {
  repository: string;
  digest: string;
  kind: string;
  kind_title: string;
  /** 1 for signatures, SBOMs and attestations that refer to another artifact. */
  accessory: number;
  /** Digest of the artifact an accessory refers to. */
  refers_to: string | null;
  /** 1 when listed on its own: not an accessory and not a child of an index in the repository. */
  top_level: number;
  title: string | null;
  description: string | null;
  version: string | null;
  size: BigIntColumn;
  layer_count: number;
  /** JSON array of `os/architecture[/variant]`. */
  platforms: string;
  /** JSON of every fact (ArtifactFacts) and the annotations kept for display. */
  facts: string;
  pushed_at: string;
}

/**
 * The search index: one row per searchable word or value of an artifact, lower-cased. Queried by prefix
 * range on `term` (a B-tree index on every dialect); `weight` ranks the field it came from.
 */
export interface SearchTermsTable {
  term: string;
  repository: string;
  digest: string;
  /** name, title, tag, description, annotation, or kv (an exact `key=value` for annotation filters). */
  field: string;
  weight: number;
}

/** A namespace whose managed index (`<namespace>/index:latest`) must be rebuilt; `token` is new per mark. */
export interface IndexMarksTable {
  namespace: string;
  token: string;
  marked_at: string;
}

/** The token signing key (a private JWK), one row per name; `current` signs and verifies. */
export interface TokenSigningKeysTable {
  name: string;
  jwk: string;
  created_at: string;
}

/**
 * Login attempts per key (a hash of a user name or a client address): `pending` while the password is
 * checked, `failed` once it was wrong. A row counts against its key until `expires_ms` (epoch ms).
 */
export interface LoginAttemptsTable {
  id: string;
  key_hash: string;
  state: "pending" | "failed";
  expires_ms: BigIntColumn;
}

/** Counters bumped with every change of a kind (`auth`: users, robots, rules), polled by every node. */
export interface ChangeCountersTable {
  name: string;
  value: BigIntColumn;
}

/**
 * A rule making matching tags immutable: once a tag in a repository matching `repositories` (a glob)
 * points at a manifest it never moves nor goes away. `kind` says how `tags` matches: `glob`, `regex`
 * (Go RE2 syntax, whole tag) or `semver` (any tag that parses as a version; `tags` is `semver`).
 */
export interface ImmutableRulesTable {
  name: string;
  repositories: string;
  tags: string;
  kind: string;
  created_by: string;
  created_at: string;
}

/** A public key (PKIX PEM; from a certificate, `certificate` keeps it for Notation) trusted to sign. */
export interface TrustKeysTable {
  name: string;
  public_key: string;
  certificate: string | null;
  /** Hex SHA-256 of the key's SPKI DER. */
  fingerprint: string;
  /** When stored signatures were last checked against the key; null until the first re-check. */
  rechecked_at: string | null;
  /** A node re-checking stored signatures against the key holds this lease; others skip until it lapses. */
  recheck_claimed_until: string | null;
  created_by: string;
  created_at: string;
}

/** Artifacts in repositories matching `repositories` (a glob) must be signed by one of `keys` (JSON array). */
export interface TrustPoliciesTable {
  name: string;
  repositories: string;
  keys: string;
  mode: "warn" | "enforce";
  created_by: string;
  created_at: string;
}

/** A signature the registry holds: manifest `digest` (layer `layer` of a cosign `.sig`) signs `subject_digest`. */
export interface SignaturesTable {
  repository: string;
  digest: string;
  layer: number;
  subject_digest: string;
  format: string;
  checked_at: string;
}

/** A trusted key that verified a signature (removed with the key). */
export interface SignatureKeysTable {
  repository: string;
  digest: string;
  layer: number;
  key_name: string;
  /** The key's fingerprint when it verified: only a key registered with it now counts. */
  fingerprint: string;
  subject_digest: string;
  verified_at: string;
  /** When the signature stops counting (a Notation expiry or its certificate's notAfter), if ever. */
  expires_at: string | null;
}

/** A job at most one node runs at a time (a sweep): held by `holder` until `until`, renewed while it runs. */
export interface LeasesTable {
  name: string;
  holder: string;
  until: string;
}

/** A garbage collection run (scheduled or asked for) and, once finished, its report (JSON). */
export interface GcRunsTable {
  id: string;
  trigger: "schedule" | "manual";
  /** 1 for a dry run (nothing removed). */
  dry_run: number;
  actor: string;
  status: "running" | "done" | "failed";
  started_at: string;
  finished_at: string | null;
  report: string | null;
  error: string | null;
}

/** Which tags of repositories matching `repositories` (a glob) are kept; `rules` is JSON (see src/registry/retention/). */
export interface RetentionPoliciesTable {
  name: string;
  repositories: string;
  rules: string;
  created_by: string;
  created_at: string;
}

/** A byte quota on the repositories matching `repositories` (a glob such as `team-a/**`). */
export interface QuotasTable {
  name: string;
  repositories: string;
  limit_bytes: BigIntColumn;
  /** Exact: updated in the transaction of every link, unlink, manifest write and delete in the namespace. */
  used_bytes: ColumnType<number | string | bigint, number | undefined, number>;
  created_by: string;
  created_at: string;
}

/** How many links or manifests in a quota's namespace hold `digest` (counted once while refs > 0). */
export interface QuotaObjectsTable {
  quota: string;
  digest: string;
  size: BigIntColumn;
  refs: number;
}

/**
 * A web UI sign-in: the cookie's value is known only to the browser; `id_hash` is its SHA-256 (hex).
 * The account it was for (name, creation time, password version) must still match at every use.
 */
export interface UiSessionsTable {
  id_hash: string;
  subject: string;
  account_created_at: string;
  account_version: BigIntColumn;
  /** Sent back in `X-Wharf-CSRF` with every admin API call the session makes. */
  csrf: string;
  created_at: string;
  /** Sliding: last_seen_at plus the idle limit, never past created_at plus the absolute limit. */
  expires_at: string;
  last_seen_at: string;
}

export interface Database {
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_references: ManifestReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
  users: UsersTable;
  robots: RobotsTable;
  access_rules: AccessRulesTable;
  audit_events: AuditEventsTable;
  settings: SettingsTable;
  artifacts: ArtifactsTable;
  search_terms: SearchTermsTable;
  index_marks: IndexMarksTable;
  token_signing_keys: TokenSigningKeysTable;
  login_attempts: LoginAttemptsTable;
  change_counters: ChangeCountersTable;
  immutable_rules: ImmutableRulesTable;
  trust_keys: TrustKeysTable;
  trust_policies: TrustPoliciesTable;
  signatures: SignaturesTable;
  signature_keys: SignatureKeysTable;
  leases: LeasesTable;
  gc_runs: GcRunsTable;
  retention_policies: RetentionPoliciesTable;
  quotas: QuotasTable;
  quota_objects: QuotaObjectsTable;
  ui_sessions: UiSessionsTable;
}
