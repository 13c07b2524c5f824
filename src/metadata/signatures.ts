import { unexpired } from "./trust-decisions.js";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";
import { batches } from "./batches.js";

type Conn = Kysely<Database>;

/** One signature of a signature manifest (layer 0 but for a cosign `.sig`, which holds one per layer). */
export interface SignatureRow {
  layer: number;
  subject: string;
  format: string;
}

/** A trusted key that verified signature `layer` (its fingerprint: a key re-added under the name is another). */
export interface VerifiedBy {
  layer: number;
  subject: string;
  keyName: string;
  fingerprint: string;
  /** When the signature stops counting (Notation expiry, certificate notAfter); undefined: never. */
  expiresAt?: string | undefined;
}

/**
 * Records what a signature manifest holds and which keys verified it. The rows describe the manifest's
 * content (the subject its payloads name, never the tag it was pushed under), so they are added to, never
 * replaced: pushing the same manifest again, under any tag, cannot take back a verification. A key row
 * is written only while the key is still registered with that fingerprint, so a verification that raced
 * with the key's removal does not bring it back.
 */
export async function recordSignatures(
  db: Conn,
  repository: string,
  digest: string,
  rows: readonly SignatureRow[],
  verified: readonly VerifiedBy[],
  at: string,
): Promise<void> {
  for (const batch of batches(rows)) {
    await db
      .insertInto("signatures")
      .values(
        batch.map((r) => ({
          repository,
          digest,
          layer: r.layer,
          subject_digest: r.subject,
          format: r.format,
          checked_at: at,
        })),
      )
      // Recorded already (the same content, pushed again or backfilled by two nodes at once).
      .onConflict((oc) => oc.columns(["repository", "digest", "layer"]).doNothing())
      .execute();
  }
  for (const v of verified) await addVerification(db, repository, digest, v, at);
}

/**
 * Adds one key's verification of one signature, if the signature is still recorded for that subject and
 * the key is still registered with that fingerprint.
 */
export async function addVerification(
  db: Conn,
  repository: string,
  digest: string,
  v: VerifiedBy,
  at: string,
): Promise<void> {
  await db
    .insertInto("signature_keys")
    .columns([
      "repository",
      "digest",
      "layer",
      "key_name",
      "fingerprint",
      "subject_digest",
      "verified_at",
      "expires_at",
    ])
    .expression(
      db
        .selectFrom("signatures as s")
        .innerJoin("trust_keys as t", (join) =>
          join.on("t.name", "=", v.keyName).on("t.fingerprint", "=", v.fingerprint),
        )
        .select([
          "s.repository",
          "s.digest",
          "s.layer",
          "t.name",
          "t.fingerprint",
          "s.subject_digest",
          sql.val(at).as("verified_at"),
          sql.val(v.expiresAt ?? null).as("expires_at"),
        ])
        .where("s.repository", "=", repository)
        .where("s.digest", "=", digest)
        .where("s.layer", "=", v.layer)
        .where("s.subject_digest", "=", v.subject),
    )
    .onConflict((oc) => oc.columns(["repository", "digest", "layer", "key_name", "fingerprint"]).doNothing())
    .execute();
}

/** Removes one key's (name and fingerprint) verification of one signature (a re-check found it does not verify). */
export async function removeVerification(
  db: Conn,
  repository: string,
  digest: string,
  layer: number,
  key: { name: string; fingerprint: string },
): Promise<void> {
  await db
    .deleteFrom("signature_keys")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .where("layer", "=", layer)
    .where("key_name", "=", key.name)
    .where("fingerprint", "=", key.fingerprint)
    .execute();
}

/** Everything recorded of a signature manifest (deleted with it, in its transaction). */
export async function deleteSignatures(db: Conn, repository: string, digest: string): Promise<void> {
  await db
    .deleteFrom("signature_keys")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .execute();
  await db
    .deleteFrom("signatures")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .execute();
}

export interface StoredSignature {
  repository: string;
  digest: string;
  layer: number;
  subject: string;
  format: string;
}

/** A page of recorded signatures in primary-key order, after `after` (the re-check walks them all). */
export async function signaturesAfter(
  db: Conn,
  after: { repository: string; digest: string; layer: number } | undefined,
  limit: number,
): Promise<StoredSignature[]> {
  let query = db
    .selectFrom("signatures")
    .select(["repository", "digest", "layer", "subject_digest", "format"])
    .orderBy("repository")
    .orderBy("digest")
    .orderBy("layer")
    .limit(limit);
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb("repository", ">", after.repository),
        eb.and([eb("repository", "=", after.repository), eb("digest", ">", after.digest)]),
        eb.and([
          eb("repository", "=", after.repository),
          eb("digest", "=", after.digest),
          eb("layer", ">", after.layer),
        ]),
      ]),
    );
  }
  const rows = await query.execute();
  return rows.map((r) => ({
    repository: r.repository,
    digest: r.digest,
    layer: r.layer,
    subject: r.subject_digest,
    format: r.format,
  }));
}

/** Artifact types of the signature referrers (Sigstore bundles of any version, Notation). */
const SIGNATURE_ARTIFACT_TYPES = [
  "application/vnd.dev.sigstore.bundle%",
  "application/vnd.cncf.notary.signature",
];
const SIGNATURE_KINDS = ["cosign-signature", "sigstore-bundle", "notation-signature"];

export interface UnrecordedSignature {
  repository: string;
  digest: string;
  content: Buffer;
  /** A cosign `sha256-<hex>.sig` tag on it, if any (it names the subject). */
  tag: string | null;
}

/**
 * A page of manifests that look like signatures (a signature artifact type or kind, or a cosign `.sig`
 * tag) and have nothing recorded: stored before signatures were recorded, or by a push that stopped
 * before recording. Keyset-paged by (repository, digest).
 */
export async function unrecordedSignatures(
  db: Conn,
  after: { repository: string; digest: string } | undefined,
  limit: number,
): Promise<UnrecordedSignature[]> {
  let query = db
    .selectFrom("manifests as m")
    .leftJoin("artifacts as a", (join) =>
      join.onRef("a.repository", "=", "m.repository").onRef("a.digest", "=", "m.digest"),
    )
    .select((eb) => [
      "m.repository",
      "m.digest",
      "m.content",
      eb
        .selectFrom("tags as t")
        .select("t.name")
        .whereRef("t.repository", "=", "m.repository")
        .whereRef("t.digest", "=", "m.digest")
        .where("t.name", "like", "sha%.sig")
        .orderBy("t.name")
        .limit(1)
        .as("tag"),
    ])
    .where((eb) =>
      eb.or([
        eb("m.artifact_type", "like", SIGNATURE_ARTIFACT_TYPES[0]!),
        eb("m.artifact_type", "=", SIGNATURE_ARTIFACT_TYPES[1]!),
        eb("a.kind", "in", SIGNATURE_KINDS),
        eb.exists(
          eb
            .selectFrom("tags as t")
            .select("t.name")
            .whereRef("t.repository", "=", "m.repository")
            .whereRef("t.digest", "=", "m.digest")
            .where("t.name", "like", "sha%.sig"),
        ),
      ]),
    )
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("signatures as s")
            .select("s.layer")
            .whereRef("s.repository", "=", "m.repository")
            .whereRef("s.digest", "=", "m.digest"),
        ),
      ),
    )
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
  const rows = await query.execute();
  return rows.map((r) => ({
    repository: r.repository,
    digest: r.digest,
    content: r.content,
    tag: r.tag ?? null,
  }));
}

/** A current trusted key's verification of a signature over an artifact, as listings show it. */
export interface ArtifactSignature {
  subject: string;
  key: string;
  fingerprint: string;
  format: string;
  /** The signature manifest. */
  digest: string;
  verifiedAt: string;
}

/**
 * The verified signatures over each of `subjects` in one repository: only by keys still registered with
 * the fingerprint that verified (joined to trust_keys), not expired, and of signature manifests still recorded, at most `perSubject` each (the
 * earliest verified first), one statement per MAX_BATCH subjects.
 */
export async function signaturesOver(
  db: Conn,
  repository: string,
  subjects: readonly string[],
  perSubject: number,
): Promise<Map<string, ArtifactSignature[]>> {
  const result = new Map<string, ArtifactSignature[]>();
  const at = new Date().toISOString();
  for (const batch of batches([...new Set(subjects)])) {
    const grouped = db
      .selectFrom("signature_keys as k")
      .innerJoin("signatures as s", (join) =>
        join
          .onRef("s.repository", "=", "k.repository")
          .onRef("s.digest", "=", "k.digest")
          .onRef("s.layer", "=", "k.layer"),
      )
      .innerJoin("trust_keys as t", (join) =>
        join.onRef("t.name", "=", "k.key_name").onRef("t.fingerprint", "=", "k.fingerprint"),
      )
      .select((eb) => [
        "k.subject_digest as subject",
        "k.key_name as key",
        "t.fingerprint as fingerprint",
        "k.digest as digest",
        eb.fn.min("s.format").as("format"),
        eb.fn.min("k.verified_at").as("verified_at"),
      ])
      .where("k.repository", "=", repository)
      .where("k.subject_digest", "in", batch)
      .where(unexpired("k", at))
      .groupBy(["k.subject_digest", "k.key_name", "t.fingerprint", "k.digest"]);
    // Bounded per subject in the database: an artifact with thousands of signatures sends only a few.
    const rows = await db
      .selectFrom(grouped.as("g"))
      .select((eb) => [
        "g.subject",
        "g.key",
        "g.fingerprint",
        "g.digest",
        "g.format",
        "g.verified_at",
        sql<number>`row_number() over (partition by ${eb.ref("g.subject")} order by ${eb.ref(
          "g.verified_at",
        )}, ${eb.ref("g.key")}, ${eb.ref("g.digest")})`.as("n"),
      ])
      .as("r");
    const limited = await db
      .selectFrom(rows)
      .selectAll()
      .where("r.n", "<=", perSubject)
      .orderBy("r.subject")
      .orderBy("r.n")
      .execute();
    for (const r of limited) {
      const list = result.get(r.subject) ?? [];
      list.push({
        subject: r.subject,
        key: r.key,
        fingerprint: r.fingerprint,
        format: r.format,
        digest: r.digest,
        verifiedAt: r.verified_at,
      });
      result.set(r.subject, list);
    }
  }
  return result;
}

export interface RegisteredKey {
  name: string;
  fingerprint: string;
  publicKey: string;
  certificate: string | null;
}

/**
 * The trusted keys as the database holds them now, not as a cache remembers them: after a signature is
 * committed, a key added meanwhile (whose re-check may have run before the signature was there) is found.
 */
export async function registeredKeys(db: Conn): Promise<RegisteredKey[]> {
  const rows = await db
    .selectFrom("trust_keys")
    .select(["name", "fingerprint", "public_key", "certificate"])
    .orderBy("name")
    .execute();
  return rows.map((r) => ({
    name: r.name,
    fingerprint: r.fingerprint,
    publicKey: r.public_key,
    certificate: r.certificate,
  }));
}

/** One recorded signature of a signature manifest, with one verification of it (or none). */
export interface SignatureRecord {
  /** The signature manifest. */
  digest: string;
  layer: number;
  /** The digest its payload signs. */
  subject: string;
  format: string;
  /** A key that verified it, when one did; `trusted` when that key is registered now with the fingerprint. */
  keyName: string | null;
  fingerprint: string | null;
  trusted: boolean;
  expiresAt: string | null;
}

/**
 * What is recorded of the signature manifests `digests` in the repository: each signature (layer) with
 * each key that verified it. At most `limit` rows (a signature manifest holds a few signatures).
 */
export async function signatureRecordsOf(
  db: Conn,
  repository: string,
  digests: readonly string[],
  limit: number,
): Promise<SignatureRecord[]> {
  const records: SignatureRecord[] = [];
  for (const batch of batches([...new Set(digests)])) {
    if (records.length >= limit) break;
    const rows = await db
      .selectFrom("signatures as s")
      .leftJoin("signature_keys as k", (join) =>
        join
          .onRef("k.repository", "=", "s.repository")
          .onRef("k.digest", "=", "s.digest")
          .onRef("k.layer", "=", "s.layer"),
      )
      .leftJoin("trust_keys as t", (join) =>
        join.onRef("t.name", "=", "k.key_name").onRef("t.fingerprint", "=", "k.fingerprint"),
      )
      .select([
        "s.digest",
        "s.layer",
        "s.subject_digest",
        "s.format",
        "k.key_name",
        "k.fingerprint",
        "k.expires_at",
        "t.name as trusted_name",
      ])
      .where("s.repository", "=", repository)
      .where("s.digest", "in", batch)
      .orderBy("s.digest")
      .orderBy("s.layer")
      .orderBy("k.key_name")
      .limit(limit - records.length)
      .execute();
    for (const r of rows) {
      records.push({
        digest: r.digest,
        layer: r.layer,
        subject: r.subject_digest,
        format: r.format,
        keyName: r.key_name ?? null,
        fingerprint: r.fingerprint ?? null,
        trusted: r.trusted_name !== null && r.trusted_name !== undefined,
        expiresAt: r.expires_at ?? null,
      });
    }
  }
  return records;
}

/** Signature manifests in the repository whose recorded payloads sign `subject` (at most `limit`). */
export async function signatureManifestsOver(
  db: Conn,
  repository: string,
  subject: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom("signatures")
    .select("digest")
    .distinct()
    .where("repository", "=", repository)
    .where("subject_digest", "=", subject)
    .orderBy("digest")
    .limit(limit)
    .execute();
  return rows.map((r) => r.digest);
}
