import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

type Conn = Kysely<Database>;

export interface ReferrerRow {
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

/** Manifests whose subject is `subject`, ordered by digest, after `last`, at most `limit`. */
export async function listReferrers(
  db: Conn,
  repository: string,
  subject: string,
  options: { artifactType?: string; last?: string; limit: number },
): Promise<ReferrerRow[]> {
  let query = db
    .selectFrom("manifests")
    .select(["digest", "media_type", "size", "artifact_type", "annotations"])
    .where("repository", "=", repository)
    .where("subject_digest", "=", subject)
    .orderBy("digest")
    .limit(options.limit);
  if (options.artifactType !== undefined) query = query.where("artifact_type", "=", options.artifactType);
  if (options.last !== undefined) query = query.where("digest", ">", options.last);
  const rows = await query.execute();
  return rows.map((r) => ({
    digest: r.digest,
    mediaType: r.media_type,
    size: Number(r.size),
    artifactType: r.artifact_type,
    annotations: r.annotations ? (JSON.parse(r.annotations) as Record<string, string>) : null,
  }));
}
