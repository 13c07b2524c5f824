import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** What a tag points at, without the manifest's content. */
export interface TagTarget {
  digest: string;
  mediaType: string;
}

export async function tagTarget(
  db: Kysely<Database>,
  repository: string,
  tag: string,
): Promise<TagTarget | undefined> {
  const row = await db
    .selectFrom("tags")
    .innerJoin("manifests", (join) =>
      join
        .onRef("manifests.repository", "=", "tags.repository")
        .onRef("manifests.digest", "=", "tags.digest"),
    )
    .select(["manifests.digest as digest", "manifests.media_type as mediaType"])
    .where("tags.repository", "=", repository)
    .where("tags.name", "=", tag)
    .executeTakeFirst();
  return row;
}
