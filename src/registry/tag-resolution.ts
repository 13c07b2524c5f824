import { RegistryError } from "../oci/errors.js";
import {
  compileTagPolicy,
  TagPolicyError,
  type CompiledTagPolicy,
  describePolicy,
  type TagPolicy,
} from "../oci/tag-policy/index.js";
import type { Db } from "../metadata/database.js";
import { repositoryExists } from "../metadata/repositories.js";
import { listTags } from "../metadata/tags.js";
import { tagTarget } from "../metadata/manifests.js";
import type { Visibility } from "./discovery-views.js";
import { requireName } from "./discovery-input.js";

/** Tags read per query: the repository's tags are never held in memory all at once. */
export const RESOLVE_BATCH = 1000;

export interface Resolution {
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  /** How many tags passed the policy's filters. */
  candidates: number;
  /** What the policy compared for the winner (normalised version or extracted text). */
  key: string;
}

/**
 * Resolves a tag policy over a repository's tags server-side, in one request of the caller's: the tags
 * are read in batches (the primary key's order), each batch yields its own winner, and the winner of the
 * batch winners is the winner of all, since a policy's choice is the maximum of a total order (ties
 * broken by the tag itself, see the tag-policy library).
 */
export class TagResolver {
  // Caller-written regexes run here over every tag: the tag-policy library compiles them with re2js
  // (RE2, linear time, as Flux's Go), so no pattern can make one request pin a server process.
  constructor(private readonly db: Db) {}

  async resolve(repository: string, policy: TagPolicy, visible: Visibility): Promise<Resolution> {
    requireName(repository, "name");
    const compiled = applying(policy, () => compileTagPolicy(policy));
    if ((visible && !(await visible(repository))) || !(await repositoryExists(this.db, repository))) {
      throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", { name: repository });
    }
    const choice = await this.select(repository, compiled, policy);
    // A tag moved or removed between the listing and now answers as what it points at now, or not at all.
    const target = choice && (await tagTarget(this.db, repository, choice.tag));
    if (!choice || !target) {
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `no tag of ${repository} matches the policy (${describePolicy(policy)})`,
        { name: repository, policy: describePolicy(policy), candidates: choice?.candidates ?? 0 },
      );
    }
    return { repository, tag: choice.tag, ...target, candidates: choice.candidates, key: choice.key };
  }

  private async select(repository: string, compiled: CompiledTagPolicy, policy: TagPolicy) {
    const winners: string[] = [];
    let candidates = 0;
    let last: string | undefined;
    for (;;) {
      const batch = await listTags(this.db, repository, last, RESOLVE_BATCH);
      const choice = applying(policy, () => compiled.select(batch));
      if (choice) {
        winners.push(choice.tag);
        candidates += choice.candidates;
      }
      last = batch.at(-1);
      if (batch.length < RESOLVE_BATCH) break;
    }
    const choice = applying(policy, () => compiled.select(winners));
    return choice && { ...choice, candidates };
  }
}

/** A policy that cannot be applied (a bad range or regex, a numerical order over a word) is a 400. */
function applying<T>(policy: TagPolicy, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof TagPolicyError)) throw err;
    throw new RegistryError("INVALID_REQUEST", err.message, { policy: describePolicy(policy) });
  }
}
