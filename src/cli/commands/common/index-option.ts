import type { Command } from "commander";
import { UsageError } from "../../../client/errors.js";
import {
  describeEntry,
  updateIndex,
  upsertChange,
  type IndexChange,
  type UpdateResult,
} from "../../../client/managed-index/index.js";
import type { Reference, RegistryReference } from "../../../client/reference.js";
import { INDEX_TAG, indexRepository, isBelow, namespaceOf } from "../../../oci/index-artifact/index.js";
import { isValidRepositoryName } from "../../../oci/names.js";
import type { Context } from "./context.js";

/** `--index` alone (true), `--index NAMESPACE`, `--no-index` (false), or neither (the config file decides). */
export type IndexOption = boolean | string | undefined;

export function withIndexOption(command: Command, what: string): Command {
  return command
    .option(
      "--index [namespace]",
      `${what} in <namespace>/index:latest, Wharf's index artifact (namespace: the repository's parent path; a top-level repository's is index:latest)`,
    )
    .option("--no-index", "do not, even with index: true in ~/.config/wharf/config.yaml");
}

/**
 * The namespace whose index to maintain, or undefined without --index. An explicit namespace must hold
 * the repository (the index lists what is below it), and the index repository itself is never indexed.
 */
export function indexNamespace(ctx: Context, option: IndexOption, ref: Reference): string | undefined {
  if (option === false) return undefined;
  if (option === undefined) {
    // The setting applies where an index can be kept; --index asked for explicitly is checked below.
    const setting = ctx.client.resolver.settings()?.index === true;
    if (
      !setting ||
      ref.kind !== "registry" ||
      ref.repository === indexRepository(namespaceOf(ref.repository))
    )
      return undefined;
    return namespaceOf(ref.repository);
  }
  if (ref.kind !== "registry")
    throw new UsageError(
      "--index keeps a registry's index artifact current: it does not apply to oci: layouts",
    );
  const namespace = option === true ? namespaceOf(ref.repository) : option.replace(/^\/+|\/+$/g, "");
  if (namespace !== "" && !isValidRepositoryName(namespace))
    throw new UsageError(
      `--index ${JSON.stringify(option)}: a namespace is a repository path such as team or org/team`,
    );
  if (!isBelow(ref.repository, namespace))
    throw new UsageError(
      `--index ${namespace}: ${ref.repository} is not below ${namespace}/, so its index cannot list it`,
    );
  if (ref.repository === indexRepository(namespace))
    throw new UsageError(`${ref.repository} is the index itself: it is not listed in it`);
  return namespace;
}

/**
 * Applies a change to the index and says so. The registry already holds what `done` describes, so a
 * failure here says that first: the user must not push again for nothing, only update the index.
 */
export async function maintainIndex(
  ctx: Context,
  ref: RegistryReference,
  namespace: string,
  change: () => Promise<IndexChange> | IndexChange,
  done: string,
): Promise<UpdateResult> {
  const registry = ctx.client.registry(ref.registry);
  let result: UpdateResult;
  try {
    result = await updateIndex(registry, namespace, await change(), {
      onRetry: ctx.options.verbose ? (message) => ctx.note(message) : undefined,
    });
  } catch (err) {
    if (err instanceof Error)
      err.message = `${done}, but did not update ${ref.registry}/${indexRepository(namespace)}:${INDEX_TAG}: ${err.message}`;
    throw err;
  }
  if (!ctx.json)
    ctx.note(`Updated ${ref.registry}/${result.repository}:${INDEX_TAG} (${result.entries} artifact(s))`);
  return result;
}

/** The index entry change for `ref@digest` with `tags`, described from the registry. */
export async function pushedChange(
  ctx: Context,
  ref: RegistryReference,
  digest: string,
  tags: string[],
): Promise<IndexChange> {
  const registry = ctx.client.registry(ref.registry);
  return upsertChange(await describeEntry(registry, ref.repository, digest, tags));
}
