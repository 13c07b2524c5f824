import { compileTagPolicy, type TagPolicy } from "../oci/tag-policy/index.js";
import type { Client } from "./client.js";
import { NotFoundError } from "./errors.js";
import { formatReference, type RegistryReference } from "./reference.js";

/** A tag a policy chose, and the manifest it points at. */
export interface ResolvedTag {
  registry: string;
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  /** How many tags passed the policy's filters. */
  candidates: number;
}

// PLACEHOLDER (replaced by the resolve work: Wharf's server-side endpoint, paging, cache fallback).
export async function resolveTag(
  client: Client,
  ref: RegistryReference,
  policy: TagPolicy,
): Promise<ResolvedTag> {
  const compiled = compileTagPolicy(policy);
  const registry = client.registry(ref.registry);
  const tags: string[] = [];
  for await (const tag of registry.tags(ref.repository)) tags.push(tag);
  const choice = compiled.select(tags);
  if (!choice) throw new NotFoundError(`${formatReference(ref)} has no tag matching the policy`);
  const descriptor = await registry.resolve(ref.repository, choice.tag);
  return {
    registry: ref.registry,
    repository: ref.repository,
    tag: choice.tag,
    digest: descriptor.digest,
    mediaType: descriptor.mediaType,
    candidates: choice.candidates,
  };
}
