import { setTimeout as sleep } from "node:timers/promises";
import {
  compileTagPolicy,
  TagPolicyError,
  type CompiledTagPolicy,
  type TagPolicy,
} from "../oci/tag-policy/index.js";
import type { Client } from "./client.js";
import { AuthError, NotFoundError, UsageError } from "./errors.js";
import type { RegistryReference } from "./reference.js";
import { resolveTag, wharfApi, type ResolvedTag } from "./resolve.js";

export interface WatchOptions {
  /** Time between polls. */
  intervalMs: number;
  /** The longest wait after failed polls (default: the interval, or 5 minutes if that is longer). */
  maxBackoffMs?: number;
  /** Stops the watch (between polls, or by failing the poll in flight). */
  signal: AbortSignal;
  /**
   * The policy's winner whenever it is new: the one the first poll finds (`initial`), then each tag that
   * ranks above the last one reported, or the last one reported moved to another digest. Awaited before
   * the next poll, so calls never overlap.
   */
  onVersion(resolved: ResolvedTag, initial: boolean): Promise<void>;
  /**
   * The winner now ranks below the last one reported (that tag is gone): not a new version, so not
   * reported, said once per winner.
   */
  onLower?(resolved: ResolvedTag, reported: ResolvedTag): void;
  /** A poll failed; the next one is in `retryInMs` (doubling with each failure in a row). */
  onError?(err: unknown, retryInMs: number): void;
  /** A poll succeeded after failures. */
  onRecover?(): void;
  /** Nothing matches the policy (or the repository does not exist): said once until something does. */
  onNoMatch?(err: NotFoundError): void;
}

const DEFAULT_MAX_BACKOFF_MS = 5 * 60_000;

/** `resolved` is news after `reported`: the same tag moved, or a tag the policy ranks above it. */
function isNewer(resolved: ResolvedTag, reported: ResolvedTag, compiled: CompiledTagPolicy): boolean {
  if (resolved.tag === reported.tag) return resolved.digest !== reported.digest;
  return compiled.select([reported.tag, resolved.tag])?.tag === resolved.tag;
}

/**
 * Polls a repository and reports each new winner of `policy`, until `signal`: never a lower one (a
 * deleted highest version leaves the next lower one winning; deploying that would be a downgrade). A
 * poll is cheap on Wharf: its tag list's ETag covers every tag of the repository, so a poll is one
 * conditional request for a one-tag page, and only a changed answer leads to resolveTag. Other
 * registries are resolved at every poll, ETag or not: theirs (or a proxy's, a CDN's) may cover only the
 * page, which a new tag elsewhere leaves as it was. A failed poll is retried after an exponential
 * backoff; usage, policy and authentication errors end the watch (retrying cannot fix them).
 */
export async function watchTags(
  client: Client,
  ref: RegistryReference,
  policy: TagPolicy,
  options: WatchOptions,
): Promise<void> {
  const compiled = compileTagPolicy(policy); // a bad range fails now, not at every poll
  const registry = client.registry(ref.registry);
  const cap = options.maxBackoffMs ?? Math.max(options.intervalMs, DEFAULT_MAX_BACKOFF_MS);
  let reported: ResolvedTag | undefined;
  let lower: string | undefined; // the lower winner onLower told of
  let etag: string | undefined;
  let probe: boolean | undefined; // the registry is Wharf (known after the first poll that reaches it)
  let failures = 0;
  let quiet = false; // onNoMatch said, until a version is found
  let first = true; // no poll has answered yet
  while (!options.signal.aborted) {
    let wait = options.intervalMs;
    try {
      let changed = true;
      probe ??= (await wharfApi(client, ref.registry)) !== undefined;
      if (probe) {
        const answer = await registry.tagsChanged(ref.repository, etag);
        changed = answer.changed;
        etag = answer.etag;
      }
      if (changed) {
        const resolved = await resolveTag(client, ref, policy);
        quiet = false;
        if (!reported || isNewer(resolved, reported, compiled)) {
          reported = resolved;
          lower = undefined;
          await options.onVersion(resolved, first);
        } else if (resolved.tag !== reported.tag && resolved.tag !== lower) {
          lower = resolved.tag;
          options.onLower?.(resolved, reported);
        }
      }
      first = false;
      if (failures > 0) options.onRecover?.();
      failures = 0;
    } catch (err) {
      if (options.signal.aborted) break;
      if (err instanceof UsageError || err instanceof AuthError || err instanceof TagPolicyError) throw err;
      if (err instanceof NotFoundError) {
        // Not a failure: the repository or a matching tag may appear later. The ETag this poll learnt
        // (if any) predates the resolution, so a later change still shows.
        first = false;
        if (failures > 0) options.onRecover?.();
        failures = 0;
        if (!quiet) options.onNoMatch?.(err);
        quiet = true;
      } else {
        failures++;
        wait = Math.min(options.intervalMs * 2 ** failures, cap);
        // The failure may have hidden a change: resolve at the next poll whatever the tag list says.
        etag = undefined;
        options.onError?.(err, wait);
      }
    }
    await sleep(wait, undefined, { signal: options.signal }).catch(() => undefined);
  }
}
