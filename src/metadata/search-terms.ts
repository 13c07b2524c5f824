import type { Expression, ExpressionBuilder, Kysely, SqlBool } from "kysely";
import type { Database } from "./schema.js";
import { batches } from "./batches.js";

type Conn = Kysely<Database>;

export interface Term {
  term: string;
  field: string;
  weight: number;
}

const TAG_FIELD = "tag";
const TAG_WEIGHT = 60;
/** Exact `key=value` rows for annotation filters; never matched by a free-text query. */
export const KV_FIELD = "kv";
/** A query equal to a whole repository name (or one of its path components) ranks above everything. */
const EXACT_NAME_SCORE = 100;
const EXACT_BONUS = 5;
/** Above every term, in code point order (see searchArtifacts: a prefix range, not LIKE). */
const PREFIX_END = "\uffff";

/** Replaces the facts terms (everything but tags) of an artifact. */
export async function replaceFactTerms(db: Conn, repository: string, digest: string, terms: Term[]) {
  await db
    .deleteFrom("search_terms")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .where("field", "!=", TAG_FIELD)
    .execute();
  await insertTerms(db, repository, digest, terms);
}

async function insertTerms(db: Conn, repository: string, digest: string, terms: Term[]) {
  for (const batch of batches(terms, 100)) {
    await db
      .insertInto("search_terms")
      .values(batch.map((t) => ({ ...t, repository, digest })))
      .execute();
  }
}

/** Points tag terms at `digest`: a tag names one manifest, so its row leaves whichever had it. */
export async function setTagTerms(db: Conn, repository: string, digest: string, tags: readonly string[]) {
  const terms = [...new Set(tags.map((t) => t.toLowerCase()))];
  for (const batch of batches(terms)) {
    await db
      .deleteFrom("search_terms")
      .where("repository", "=", repository)
      .where("field", "=", TAG_FIELD)
      .where("term", "in", batch)
      .execute();
  }
  await insertTerms(
    db,
    repository,
    digest,
    terms.map((term) => ({ term, field: TAG_FIELD, weight: TAG_WEIGHT })),
  );
}

export async function deleteTagTerm(db: Conn, repository: string, tag: string): Promise<void> {
  await db
    .deleteFrom("search_terms")
    .where("term", "=", tag.toLowerCase())
    .where("repository", "=", repository)
    .where("field", "=", TAG_FIELD)
    .execute();
}

export async function deleteArtifactTerms(db: Conn, repository: string, digest: string): Promise<void> {
  await db
    .deleteFrom("search_terms")
    .where("repository", "=", repository)
    .where("digest", "=", digest)
    .execute();
}

export interface SearchQuery {
  /** Lower-cased prefix to match, or null to match by annotation filters alone. */
  prefix: string | null;
  kind?: string;
  /** Exact lower-cased `key=value` terms an artifact must all have. */
  annotations: string[];
  /** Continue after this hit (results are ordered by score, then repository and digest). */
  after?: SearchCursor;
  limit: number;
}

export interface SearchCursor {
  /** Which tier of fields (SEARCH_TIERS) the hit came from. */
  tier: number;
  score: number;
  repository: string;
  digest: string;
}

export type SearchHit = SearchCursor;

/**
 * Fields in rank order. Every score of a tier is above every score of the next (weights and bonuses are
 * chosen so), so an artifact ranks by the first tier it matches in, and a search can stop at the tier
 * that fills the page instead of grouping every match of a broad prefix.
 */
export const SEARCH_TIERS: readonly (readonly string[])[] = [
  ["name", "namepart"],
  ["title", TAG_FIELD],
  ["description"],
  ["annotation"],
];

type Eb = ExpressionBuilder<Database & { t: Database["search_terms"]; a: Database["artifacts"] }, "t" | "a">;

/**
 * Listed artifacts with a term in the prefix range `[prefix, prefix + U+FFFF)`: an index range scan on
 * `search_terms_term` on SQLite and PostgreSQL alike. Each artifact scores its best match (an exact
 * repository name, then name prefixes, titles and tags, descriptions, annotations); tiers are read in
 * order until the page is full.
 */
export async function searchArtifacts(db: Conn, query: SearchQuery): Promise<SearchHit[]> {
  if (query.prefix === null) {
    if (query.annotations.length === 0) return [];
    return searchTier(db, query, null, query.after);
  }
  const hits: SearchHit[] = [];
  for (let tier = query.after?.tier ?? 0; tier < SEARCH_TIERS.length && hits.length < query.limit; tier++) {
    const higher = SEARCH_TIERS.slice(0, tier).flat();
    let after = tier === query.after?.tier ? query.after : undefined;
    let size = query.limit - hits.length;
    for (;;) {
      const rows = await searchTier(db, { ...query, limit: size }, tier, after);
      // An artifact a higher tier matched was listed there (on this page or an earlier one).
      const shadowed =
        higher.length > 0 ? await matchedIn(db, query.prefix, higher, rows) : new Set<string>();
      for (const row of rows) {
        if (hits.length < query.limit && !shadowed.has(`${row.repository}@${row.digest}`)) hits.push(row);
      }
      const last = rows.at(-1);
      if (hits.length >= query.limit || !last || rows.length < size) break;
      after = last;
      // Mostly shadowed: read further ahead each round, so a tier is grouped a few times at most.
      size = Math.min(size * 4, 10_000);
    }
  }
  return hits;
}

/** Which of `hits` have a term in the prefix range in one of `fields` (looked up by digest). */
async function matchedIn(
  db: Conn,
  prefix: string,
  fields: string[],
  hits: readonly SearchHit[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const batch of batches([...new Set(hits.map((h) => h.digest))])) {
    const rows = await db
      .selectFrom("search_terms")
      .select(["repository", "digest"])
      .where("digest", "in", batch)
      .where("field", "in", fields)
      .where("term", ">=", prefix)
      .where("term", "<", prefix + PREFIX_END)
      .execute();
    for (const row of rows) found.add(`${row.repository}@${row.digest}`);
  }
  return found;
}

/** One tier of a search (or, for `tier` null, a search by annotation filters alone). */
async function searchTier(
  db: Conn,
  query: SearchQuery,
  tier: number | null,
  after: SearchCursor | undefined,
): Promise<SearchHit[]> {
  const prefix = query.prefix;
  const score = (eb: Eb): Expression<number> => {
    if (prefix === null) return eb.ref("t.weight");
    return eb
      .case()
      .when(eb.and([eb("t.field", "=", "name"), eb("t.term", "=", prefix)]))
      .then(EXACT_NAME_SCORE)
      .when("t.term", "=", prefix)
      .then(eb("t.weight", "+", EXACT_BONUS))
      .else(eb.ref("t.weight"))
      .end();
  };
  const maxScore = (eb: Eb) => eb.fn.max(score(eb));

  // A cross join with the join condition in WHERE: SQLite then keeps search_terms as the outer loop, so the
  // term index drives the query (without statistics it would rather scan artifacts); PostgreSQL plans it
  // as the inner join it is.
  let select = db
    .selectFrom("search_terms as t")
    .crossJoin("artifacts as a")
    .whereRef("a.repository", "=", "t.repository")
    .whereRef("a.digest", "=", "t.digest")
    .select((eb) => ["t.repository", "t.digest", maxScore(eb).as("score")])
    .where("a.top_level", "=", 1)
    .groupBy(["t.repository", "t.digest"]);

  const [first, ...rest] = query.annotations;
  if (prefix !== null && tier !== null) {
    const end = prefix + PREFIX_END;
    select = select
      .where("t.term", ">=", prefix)
      .where("t.term", "<", end)
      .where("t.field", "in", [...SEARCH_TIERS[tier]!]);
  } else if (first !== undefined) {
    select = select.where("t.term", "=", first).where("t.field", "=", KV_FIELD);
  } else {
    return [];
  }
  if (query.kind !== undefined) select = select.where("a.kind", "=", query.kind);
  for (const kv of prefix === null ? rest : query.annotations) {
    select = select.where((eb) =>
      eb.exists(
        eb
          .selectFrom("search_terms as k")
          .select("k.digest")
          .whereRef("k.digest", "=", "t.digest")
          .whereRef("k.repository", "=", "t.repository")
          .where("k.term", "=", kv)
          .where("k.field", "=", KV_FIELD)
          // Filter rows all weigh 0: with it, the lookup is one point in the covering term index.
          .where("k.weight", "=", 0),
      ),
    );
  }
  if (after) {
    select = select.having((eb): Expression<SqlBool> =>
      eb.or([
        eb(maxScore(eb), "<", after.score),
        eb.and([
          eb(maxScore(eb), "=", after.score),
          eb.or([
            eb("t.repository", ">", after.repository),
            eb.and([eb("t.repository", "=", after.repository), eb("t.digest", ">", after.digest)]),
          ]),
        ]),
      ]),
    );
  }
  const rows = await select
    .orderBy("score", "desc")
    .orderBy("t.repository")
    .orderBy("t.digest")
    .limit(query.limit)
    .execute();
  return rows.map((r) => ({
    tier: tier ?? 0,
    repository: r.repository,
    digest: r.digest,
    score: Number(r.score),
  }));
}

/** Repositories in name order with a name term in the prefix range, after `last`. */
export async function repositoriesMatching(
  db: Conn,
  prefix: string,
  kind: string | undefined,
  last: string | undefined,
  limit: number,
): Promise<string[]> {
  let query = db
    .selectFrom("search_terms as t")
    .crossJoin("artifacts as a")
    .whereRef("a.repository", "=", "t.repository")
    .whereRef("a.digest", "=", "t.digest")
    .select("t.repository")
    .distinct()
    .where("t.term", ">=", prefix)
    .where("t.term", "<", prefix + PREFIX_END)
    .where("t.field", "in", ["name", "namepart"])
    .where("a.top_level", "=", 1)
    .orderBy("t.repository")
    .limit(limit);
  if (kind !== undefined) query = query.where("a.kind", "=", kind);
  if (last !== undefined) query = query.where("t.repository", ">", last);
  return (await query.execute()).map((r) => r.repository);
}
