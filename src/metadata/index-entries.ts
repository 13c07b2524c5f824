import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

type Conn = Kysely<Database>;

/** One tag below a namespace with the facts of the artifact it names (null when it has none yet). */
export interface TaggedRow {
  repository: string;
  digest: string;
  tag: string;
  updatedAt: string;
  kind: string | null;
  title: string | null;
  version: string | null;
  description: string | null;
  /** 1 for accessories and children of an index, which an index does not list on their own. */
  hidden: number | null;
}

export interface TagPosition {
  repository: string;
  digest: string;
  tag: string;
}

/**
 * Tags of repositories below `namespace` ("" for all), in (repository, digest, tag) order after
 * `after`, at most `limit`: a range over the tags table's primary key, read page by page.
 */
export async function tagsBelow(
  db: Conn,
  namespace: string,
  after: TagPosition | undefined,
  limit: number,
): Promise<TaggedRow[]> {
  let query = db
    .selectFrom("tags")
    .leftJoin("artifacts", (join) =>
      join
        .onRef("artifacts.repository", "=", "tags.repository")
        .onRef("artifacts.digest", "=", "tags.digest"),
    )
    .select([
      "tags.repository as repository",
      "tags.digest as digest",
      "tags.name as tag",
      "tags.updated_at as updatedAt",
      "artifacts.kind as kind",
      "artifacts.title as title",
      "artifacts.version as version",
      "artifacts.description as description",
    ])
    .select(
      sql<
        number | null
      >`case when artifacts.accessory = 1 or artifacts.top_level = 0 then 1 when artifacts.kind is null then null else 0 end`.as(
        "hidden",
      ),
    )
    .orderBy("tags.repository")
    .orderBy("tags.digest")
    .orderBy("tags.name")
    .limit(limit);
  if (namespace !== "") {
    // `ns/` up to (not including) `ns0`: '0' is the character after '/', so this is every `ns/...`.
    query = query
      .where("tags.repository", ">=", `${namespace}/`)
      .where("tags.repository", "<", `${namespace}0`);
  }
  if (after) {
    query = query.where(
      sql<boolean>`(tags.repository, tags.digest, tags.name) > (${after.repository}, ${after.digest}, ${after.tag})`,
    );
  }
  const rows = await query.execute();
  return rows.map((r) => ({ ...r, hidden: r.hidden === null ? null : Number(r.hidden) }));
}
