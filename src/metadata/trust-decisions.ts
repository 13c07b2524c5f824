import { sql, type Kysely, type RawBuilder, type SqlBool } from "kysely";
import type { Database } from "./schema.js";

type Conn = Kysely<Database>;

/** Rows read to decide on a blob: (manifest, key) pairs, and accessory manifests looked at. */
export const MAX_BLOB_SIGNATURE_ROWS = 1000;
export const MAX_BLOB_ACCESSORIES = 8;
/** Accessories (signatures, SBOM manifests) are small; larger manifests are not read to decide on a blob. */
const MAX_ACCESSORY_BYTES = 1024 * 1024;

/**
 * Which of `keyNames` (still registered) verified a signature in the repository over `digest`, or over an
 * index in the repository that lists it (a pull of a signed multi-platform image fetches its children by
 * digest). Two seeks on signature_keys_subject; the second after one on manifest_references_child.
 */
export async function keysThatSigned(
  db: Conn,
  repository: string,
  digest: string,
  keyNames: readonly string[],
): Promise<Set<string>> {
  if (keyNames.length === 0) return new Set();
  const at = new Date().toISOString();
  // Verifications in the repository by the named keys, still registered (same fingerprint), unexpired.
  const verifications = () =>
    db
      .selectFrom("signature_keys as sk")
      .innerJoin("trust_keys as tk", (join) =>
        join.onRef("tk.name", "=", "sk.key_name").onRef("tk.fingerprint", "=", "sk.fingerprint"),
      )
      .select("sk.key_name")
      .where("sk.repository", "=", repository)
      .where("sk.key_name", "in", [...keyNames])
      .where(unexpired("sk", at));
  const direct = verifications().where("sk.subject_digest", "=", digest);
  // The index's digests first (manifest_references_child), then their signatures: written as IN so that
  // the planner never starts from every signature of the repository.
  const parents = db
    .selectFrom("manifest_references")
    .select("manifest_digest")
    .where("repository", "=", repository)
    .where("child_digest", "=", digest)
    .where("kind", "=", "manifest");
  const viaIndex = verifications().where("sk.subject_digest", "in", parents);
  const rows = await direct.unionAll(viaIndex).execute();
  return new Set(rows.map((r) => r.key_name));
}

/**
 * The manifests in the repository that reference blob `digest` and were signed (directly or through an
 * index listing them) by one of `keyNames`, each with the keys that signed it. Bounded: a base layer
 * may be shared by thousands of images, and any one allowed manifest is enough.
 */
export async function signedReferencesOfBlob(
  db: Conn,
  repository: string,
  digest: string,
  keyNames: readonly string[],
): Promise<Map<string, Set<string>>> {
  const signed = new Map<string, Set<string>>();
  if (keyNames.length === 0) return signed;
  const at = new Date().toISOString();
  // Cross joins with the join conditions in WHERE: SQLite then keeps the tables in this order, so the
  // blob's references (manifest_references_child) drive the query; without statistics it would rather
  // start from every signature of the repository. PostgreSQL plans them as the inner joins they are.
  const direct = db
    .selectFrom("manifest_references as mr")
    .crossJoin("signature_keys as sk")
    .crossJoin("trust_keys as tk")
    .whereRef("sk.repository", "=", "mr.repository")
    .whereRef("sk.subject_digest", "=", "mr.manifest_digest")
    .whereRef("tk.name", "=", "sk.key_name")
    .whereRef("tk.fingerprint", "=", "sk.fingerprint")
    .select(["mr.manifest_digest as manifest", "sk.key_name as key"])
    .where("mr.repository", "=", repository)
    .where("mr.child_digest", "=", digest)
    .where("mr.kind", "=", "blob")
    .where("sk.key_name", "in", [...keyNames])
    .where(unexpired("sk", at));
  const viaIndex = db
    .selectFrom("manifest_references as mr")
    .crossJoin("manifest_references as parent")
    .crossJoin("signature_keys as sk")
    .crossJoin("trust_keys as tk")
    .whereRef("parent.repository", "=", "mr.repository")
    .whereRef("parent.child_digest", "=", "mr.manifest_digest")
    .whereRef("sk.repository", "=", "mr.repository")
    .whereRef("sk.subject_digest", "=", "parent.manifest_digest")
    .whereRef("tk.name", "=", "sk.key_name")
    .whereRef("tk.fingerprint", "=", "sk.fingerprint")
    .select(["mr.manifest_digest as manifest", "sk.key_name as key"])
    .where("mr.repository", "=", repository)
    .where("mr.child_digest", "=", digest)
    .where("mr.kind", "=", "blob")
    .where("parent.kind", "=", "manifest")
    .where("sk.key_name", "in", [...keyNames])
    .where(unexpired("sk", at));
  const rows = await direct.unionAll(viaIndex).limit(MAX_BLOB_SIGNATURE_ROWS).execute();
  for (const row of rows) signed.set(row.manifest, (signed.get(row.manifest) ?? new Set()).add(row.key));
  return signed;
}

export interface AccessoryCandidate {
  content: Buffer;
  /** The media type it is stored and served as. */
  mediaType: string;
  /** Recorded as an accessory when its facts were extracted (a cosign `.sig` image, for example). */
  accessory: boolean;
}

/**
 * Manifests in the repository referencing blob `digest` that may be verification material (they have a
 * subject, or were recorded as accessories): the few a blob decision reads to let signatures' and SBOMs'
 * own blobs through. With `anyManifest` (a managed index's repository, holding few manifests) every
 * manifest referencing it is a candidate.
 */
export async function accessoriesReferencingBlob(
  db: Conn,
  repository: string,
  digest: string,
  anyManifest = false,
): Promise<AccessoryCandidate[]> {
  const rows = await db
    .selectFrom("manifest_references as mr")
    .innerJoin("manifests as m", (join) =>
      join.onRef("m.repository", "=", "mr.repository").onRef("m.digest", "=", "mr.manifest_digest"),
    )
    .leftJoin("artifacts as a", (join) =>
      join.onRef("a.repository", "=", "m.repository").onRef("a.digest", "=", "m.digest"),
    )
    .select(["m.content", "m.media_type", "a.accessory"])
    .where("mr.repository", "=", repository)
    .where("mr.child_digest", "=", digest)
    .where("mr.kind", "=", "blob")
    .where("m.size", "<=", MAX_ACCESSORY_BYTES)
    .$if(!anyManifest, (q) =>
      q.where((eb) => eb.or([eb("m.subject_digest", "is not", null), eb("a.accessory", "=", 1)])),
    )
    .limit(MAX_BLOB_ACCESSORIES)
    .execute();
  return rows.map((r) => ({ content: r.content, mediaType: r.media_type, accessory: r.accessory === 1 }));
}

/** Whether the artifact was recorded as an accessory (signature, SBOM, attestation) when pushed. */
export async function isRecordedAccessory(db: Conn, repository: string, digest: string): Promise<boolean> {
  const row = await db
    .selectFrom("artifacts")
    .select("accessory")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .executeTakeFirst();
  return row?.accessory === 1;
}

/** A verification that still counts at `at`: no expiry, or a later one (Notation signatures expire). */
export function unexpired(alias: string, at: string): RawBuilder<SqlBool> {
  const expires = sql.ref(`${alias}.expires_at`);
  return sql<SqlBool>`(${expires} is null or ${expires} > ${at})`;
}
