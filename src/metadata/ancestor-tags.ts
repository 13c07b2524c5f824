import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

type Conn = Kysely<Database>;

/**
 * How many levels of manifests above a blob or manifest are looked at: a manifest, its index, an
 * index of indexes and more than real artifacts nest.
 */
export const MAX_ANCESTOR_DEPTH = 8;

export interface AncestorTag {
  /** The tagged manifest (an ancestor of the digest asked about). */
  digest: string;
  name: string;
}

/**
 * Tags on the manifests that reference `digest` in the repository (a blob's manifests, a manifest's
 * indexes), and on theirs, up to MAX_ANCESTOR_DEPTH levels: one recursive query per page, ordered by
 * (digest, name) after `after`, at most `limit` (so a layer that thousands of manifests share is read
 * a page at a time).
 */
export async function ancestorTags(
  db: Conn,
  repository: string,
  digest: string,
  after: AncestorTag | undefined,
  limit: number,
): Promise<AncestorTag[]> {
  const from = after ? sql`and (t.digest, t.name) > (${after.digest}, ${after.name})` : sql``;
  const result = await sql<AncestorTag>`
    with recursive up (digest, depth) as (
      select manifest_digest, 1 from manifest_references
        where repository = ${repository} and child_digest = ${digest}
      union
      select r.manifest_digest, up.depth + 1 from manifest_references r
        join up on r.child_digest = up.digest
        where r.repository = ${repository} and up.depth < ${MAX_ANCESTOR_DEPTH}
    )
    select t.digest as digest, t.name as name from tags t
      where t.repository = ${repository} and t.digest in (select digest from up) ${from}
      order by t.digest, t.name
      limit ${limit}`.execute(db);
  return result.rows;
}
