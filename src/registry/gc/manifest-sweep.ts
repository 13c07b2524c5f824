import type { Db } from "../../metadata/database.js";
import { batches } from "../../metadata/batches.js";
import type { ManifestService } from "../manifests.js";
import { ImmutableTagError } from "../immutable/service.js";
import type { RemovedItem, SweepContext, SweepPhase } from "./types.js";

export interface ManifestSweepOptions {
  db: Db;
  /** Removals go through its delete path (tag lock, immutable checks, signatures, facts, index marks). */
  manifests: ManifestService;
  /** Collect manifests no tag names (gc.untagged). */
  untagged: boolean;
  /** Repositories holding a managed index artifact: the server's own content, never collected here. */
  manages(repository: string): boolean;
}

/** Manifests looked at per statement. */
const PAGE = 500;
/**
 * Cascade rounds per run (an index's removal orphans its children, a subject's its referrers): chains
 * deeper than this are finished by the next run.
 */
const MAX_ROUNDS = 32;

interface Row {
  repository: string;
  digest: string;
  subject_digest: string | null;
}

const keyOf = (repository: string, digest: string) => `${repository}@${digest}`;

/**
 * Untagged manifests (when gc.untagged is on) and referrers whose subject is gone, once both their push
 * (first or again: touched_at) and their last pull are older than the cutoff. Never a manifest a tag names, an index in its
 * repository lists, a referrer whose subject is stored, or a managed index's repository. The first round
 * pages through every old manifest; later rounds look only at what a removal may have orphaned (the
 * children of a removed index, the referrers of a removed subject), so a dry run, which treats what it
 * plans as gone, lists exactly what the real run removes. Each removal re-checks every condition inside
 * the delete's transaction, after the tag lock that tag and index PUTs take too: a racing PUT either
 * commits first (and the re-check keeps the manifest) or finds it gone.
 */
export function manifestPhase(options: ManifestSweepOptions): SweepPhase {
  const { db } = options;
  return {
    name: "manifests",
    run: async (ctx: SweepContext) => {
      const result = { count: 0, bytes: 0, skipped: 0 };
      const cutoff = ctx.cutoff.toISOString();
      const total = await countOld(db, cutoff);
      let scanned = 0;
      let affected = new Map<string, Row>();
      let after: Row | undefined;
      for (;;) {
        ctx.signal.throwIfAborted();
        const page = await oldPage(db, cutoff, after);
        if (page.length === 0) break;
        after = page.at(-1);
        for (const [key, row] of await sweepRows(options, ctx, page, result)) affected.set(key, row);
        scanned += page.length;
        ctx.progress(scanned, total);
      }
      for (let round = 0; round < MAX_ROUNDS && affected.size > 0; round++) {
        const next = new Map<string, Row>();
        for (const slice of batches([...affected.values()], PAGE)) {
          ctx.signal.throwIfAborted();
          const rows = await stillOld(db, cutoff, slice);
          const fresh = rows.filter((r) => !ctx.planned.manifests.has(keyOf(r.repository, r.digest)));
          for (const [key, row] of await sweepRows(options, ctx, fresh, result)) next.set(key, row);
          scanned += slice.length;
          ctx.progress(scanned, total);
        }
        affected = next;
      }
      return result;
    },
  };
}

/**
 * Decides for each row, removes (or plans) what goes, and returns the manifests those removals may have
 * made collectable.
 */
async function sweepRows(
  options: ManifestSweepOptions,
  ctx: SweepContext,
  rows: readonly Row[],
  result: { count: number; skipped: number },
): Promise<Map<string, Row>> {
  const affected = new Map<string, Row>();
  for (const [repository, group] of groupByRepository(rows)) {
    if (options.manages(repository)) continue;
    const going = await collectable(options.db, ctx, repository, group, options.untagged);
    if (going.length === 0) continue;
    // Read before deleting: a removed manifest's references go with it.
    const orphaned = await orphanedBy(
      options.db,
      repository,
      going.map((g) => g.row.digest),
    );
    for (const { row, reason } of going) {
      ctx.signal.throwIfAborted();
      const item: RemovedItem = { kind: "manifest", repository, digest: row.digest, bytes: 0, reason };
      if (!ctx.dryRun && !(await remove(options, ctx, row))) {
        result.skipped++;
        continue;
      }
      ctx.planned.manifests.add(keyOf(repository, row.digest));
      ctx.removed(item);
      result.count++;
    }
    for (const row of orphaned) affected.set(keyOf(row.repository, row.digest), row);
  }
  return affected;
}

/** The real removal: false when the re-check inside the transaction kept it, or an immutable tag refused. */
async function remove(options: ManifestSweepOptions, ctx: SweepContext, row: Row): Promise<boolean> {
  try {
    return await options.manifests.deleteByDigest(row.repository, row.digest, {
      keep: async (trx) => !(await stillCollectable(trx, ctx.cutoff.toISOString(), row, options.untagged)),
    });
  } catch (err) {
    if (err instanceof ImmutableTagError) return false;
    throw err;
  }
}

/** Those of `rows` (one repository's) that go, and why; what this run plans to remove counts as gone. */
async function collectable(
  db: Db,
  ctx: SweepContext,
  repository: string,
  rows: readonly Row[],
  untagged: boolean,
): Promise<{ row: Row; reason: string }[]> {
  const gone = (digest: string) => ctx.planned.manifests.has(keyOf(repository, digest));
  const digests = rows.map((r) => r.digest);
  const tagged = await taggedAmong(db, repository, digests);
  const parents = await parentsOf(db, repository, digests);
  const subjects = [...new Set(rows.flatMap((r) => (r.subject_digest ? [r.subject_digest] : [])))];
  const stored = await storedAmong(db, repository, subjects);
  const going: { row: Row; reason: string }[] = [];
  for (const row of rows) {
    if (tagged.has(row.digest)) continue;
    if ((parents.get(row.digest) ?? []).some((p) => !gone(p))) continue;
    if (row.subject_digest) {
      if (!stored.has(row.subject_digest) || gone(row.subject_digest)) {
        going.push({ row, reason: "subject gone" });
      }
    } else if (untagged) {
      going.push({ row, reason: "untagged" });
    }
  }
  return going;
}

/** The same conditions, read again inside the delete's transaction (after the tag lock). */
async function stillCollectable(trx: Db, cutoff: string, row: Row, untagged: boolean): Promise<boolean> {
  const current = await trx
    .selectFrom("manifests")
    .select(["subject_digest", "created_at", "touched_at", "last_pulled_at"])
    .where("repository", "=", row.repository)
    .where("digest", "=", row.digest)
    .executeTakeFirst();
  if (!current || current.created_at >= cutoff) return false;
  if (current.touched_at !== null && current.touched_at >= cutoff) return false;
  if (current.last_pulled_at !== null && current.last_pulled_at >= cutoff) return false;
  if ((await taggedAmong(trx, row.repository, [row.digest])).size > 0) return false;
  if ((await parentsOf(trx, row.repository, [row.digest])).size > 0) return false;
  if (current.subject_digest) {
    return (await storedAmong(trx, row.repository, [current.subject_digest])).size === 0;
  }
  return untagged;
}

function groupByRepository(rows: readonly Row[]): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const group = groups.get(row.repository);
    if (group) group.push(row);
    else groups.set(row.repository, [row]);
  }
  return groups;
}

/** Old enough: pushed, pushed again (touched_at; null when never) and last pulled before the cutoff. */
function oldManifests(db: Db, cutoff: string) {
  return db
    .selectFrom("manifests")
    .where("created_at", "<", cutoff)
    .where((eb) => eb.or([eb("touched_at", "is", null), eb("touched_at", "<", cutoff)]))
    .where((eb) => eb.or([eb("last_pulled_at", "is", null), eb("last_pulled_at", "<", cutoff)]));
}

async function countOld(db: Db, cutoff: string): Promise<number> {
  const row = await oldManifests(db, cutoff)
    .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The next page of old manifests after `after`, in (repository, digest) order. */
function oldPage(db: Db, cutoff: string, after: Row | undefined): Promise<Row[]> {
  let query = oldManifests(db, cutoff).select(["repository", "digest", "subject_digest"]);
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb("repository", ">", after.repository),
        eb.and([eb("repository", "=", after.repository), eb("digest", ">", after.digest)]),
      ]),
    );
  }
  return query.orderBy("repository").orderBy("digest").limit(PAGE).execute();
}

/** Those of `rows` still stored and still old enough. */
async function stillOld(db: Db, cutoff: string, rows: readonly Row[]): Promise<Row[]> {
  const found: Row[] = [];
  for (const [repository, group] of groupByRepository(rows)) {
    found.push(
      ...(await oldManifests(db, cutoff)
        .select(["repository", "digest", "subject_digest"])
        .where("repository", "=", repository)
        .where(
          "digest",
          "in",
          group.map((r) => r.digest),
        )
        .orderBy("digest")
        .execute()),
    );
  }
  return found;
}

async function taggedAmong(db: Db, repository: string, digests: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("tags")
      .select("digest")
      .distinct()
      .where("repository", "=", repository)
      .where("digest", "in", batch)
      .execute();
    for (const row of rows) found.add(row.digest);
  }
  return found;
}

/** For each of `digests`, the indexes in the repository listing it. */
async function parentsOf(
  db: Db,
  repository: string,
  digests: readonly string[],
): Promise<Map<string, string[]>> {
  const parents = new Map<string, string[]>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("manifest_references")
      .select(["manifest_digest", "child_digest"])
      .where("repository", "=", repository)
      .where("kind", "=", "manifest")
      .where("child_digest", "in", batch)
      .execute();
    for (const row of rows) {
      const list = parents.get(row.child_digest);
      if (list) list.push(row.manifest_digest);
      else parents.set(row.child_digest, [row.manifest_digest]);
    }
  }
  return parents;
}

async function storedAmong(db: Db, repository: string, digests: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const batch of batches(digests)) {
    const rows = await db
      .selectFrom("manifests")
      .select("digest")
      .where("repository", "=", repository)
      .where("digest", "in", batch)
      .execute();
    for (const row of rows) found.add(row.digest);
  }
  return found;
}

/** The children of `digests` (indexes) and their referrers: what removing them may make collectable. */
async function orphanedBy(db: Db, repository: string, digests: readonly string[]): Promise<Row[]> {
  const found: Row[] = [];
  for (const batch of batches(digests)) {
    const children = await db
      .selectFrom("manifest_references")
      .innerJoin("manifests", (join) =>
        join
          .onRef("manifests.repository", "=", "manifest_references.repository")
          .onRef("manifests.digest", "=", "manifest_references.child_digest"),
      )
      .select(["manifests.repository", "manifests.digest", "manifests.subject_digest"])
      .where("manifest_references.repository", "=", repository)
      .where("manifest_references.kind", "=", "manifest")
      .where("manifest_references.manifest_digest", "in", batch)
      .execute();
    const referrers = await db
      .selectFrom("manifests")
      .select(["repository", "digest", "subject_digest"])
      .where("repository", "=", repository)
      .where("subject_digest", "in", batch)
      .execute();
    found.push(...children, ...referrers);
  }
  return found;
}
