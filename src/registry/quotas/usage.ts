import { compileGlob } from "../../auth/glob.js";
import type { Db } from "../../metadata/database.js";
import { repositoryNames } from "../../metadata/quotas.js";
import { holders, repositoryUsage } from "../../metadata/usage.js";
import type { UsageDto } from "../../api/quotas.js";
import { repositoryGlobProblem } from "../rule-patterns.js";
import { QuotaError } from "./service.js";
import { globPrefix } from "./prefix.js";

export const DEFAULT_USAGE_PAGE = 100;
export const MAX_USAGE_PAGE = 1000;
/** Repository names read per statement while looking for the next page's matches. */
const NAME_SCAN = 1000;
/** Holders read per statement while adding up a namespace's total. */
const HOLDER_PAGE = 5000;

/**
 * Usage per repository of a namespace (`wharf du`), a page at a time in name order, and the
 * namespace's total, each digest once; memory is bounded by the page, whatever the namespace holds.
 */
export async function namespaceUsage(
  db: Db,
  namespace: string,
  options: { after?: string; limit?: number },
): Promise<UsageDto> {
  const problem = repositoryGlobProblem(namespace);
  if (problem) throw new QuotaError("invalid", problem);
  const limit = options.limit ?? DEFAULT_USAGE_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_USAGE_PAGE) {
    throw new QuotaError("invalid", `limit must be an integer from 1 to ${MAX_USAGE_PAGE}`);
  }
  if (options.after !== undefined && options.after.length > 255) {
    throw new QuotaError("invalid", "after must be a repository name (from the previous page's next)");
  }
  const matches = compileGlob(namespace);
  const prefix = globPrefix(namespace);
  const page: string[] = [];
  let scanned = options.after;
  let more = false;
  for (;;) {
    const names = await repositoryNames(db, prefix, scanned, NAME_SCAN);
    for (const name of names) {
      if (!matches(name)) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(name);
    }
    if (more || names.length < NAME_SCAN) break;
    scanned = names.at(-1);
  }
  const repositories = (await repositoryUsage(db, page)).map((u) => ({
    repository: u.repository,
    bytes: u.bytes,
    unique: u.unique,
    shared: u.bytes - u.unique,
    blobs: u.blobs,
    manifests: u.manifests,
  }));
  const result: UsageDto = { namespace, repositories };
  if (more) result.next = page.at(-1);
  if (options.after === undefined) result.total = await namespaceTotal(db, prefix, matches);
  return result;
}

async function namespaceTotal(
  db: Db,
  prefix: string,
  matches: (repository: string) => boolean,
): Promise<{ bytes: number; digests: number }> {
  let bytes = 0;
  let digests = 0;
  let counted: string | undefined;
  let after: { digest: string; repository: string } | undefined;
  for (;;) {
    const page = await holders(db, prefix, after, HOLDER_PAGE);
    for (const h of page) {
      if (h.digest === counted || !matches(h.repository)) continue;
      counted = h.digest;
      bytes += h.size;
      digests++;
    }
    if (page.length < HOLDER_PAGE) return { bytes, digests };
    const last = page.at(-1) as { digest: string; repository: string };
    after = { digest: last.digest, repository: last.repository };
  }
}
