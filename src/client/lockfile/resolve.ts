import { detectKind } from "../../oci/kinds/index.js";
import { TagPolicyError } from "../../oci/tag-policy/index.js";
import type { Client } from "../client.js";
import { UsageError } from "../errors.js";
import { formatReference, type RegistryReference } from "../reference.js";
import { resolveTag } from "../resolve.js";

/** A reference resolved against its registry. */
export interface Resolution {
  registry: string;
  repository: string;
  tag?: string;
  digest: string;
  /** host/repo:tag@sha256:… */
  resolved: string;
  kind: string;
}

/** How a range reads tags: Flux's semverFilter, and Helm's `_` for `+`. */
export interface RangeOptions {
  semverFilter?: string;
  helm?: boolean;
}

/**
 * Resolves references once each per run: a tag by its manifest, a range by the tag policy's winner, a
 * digest by checking the registry has it. The manifest is fetched (not only HEADed) because the kind
 * comes from it; one small request either way.
 */
export class LockResolver {
  private readonly seen = new Map<string, Promise<Resolution>>();

  constructor(private readonly client: Client) {}

  resolve(reference: string, range?: string, options: RangeOptions = {}): Promise<Resolution> {
    const key = JSON.stringify([reference, range, options.semverFilter, options.helm === true]);
    let promise = this.seen.get(key);
    if (!promise) {
      promise = this.lookup(reference, range, options);
      this.seen.set(key, promise);
    }
    return promise;
  }

  private async lookup(
    reference: string,
    range: string | undefined,
    { semverFilter, helm }: RangeOptions,
  ): Promise<Resolution> {
    const ref = this.client.parse(reference);
    if (ref.kind !== "registry") throw new UsageError(`${reference} is not a registry reference`);
    const registry = this.client.registry(ref.registry);
    let tag = ref.tag;
    let target = ref.digest ?? ref.tag ?? "latest";
    if (range !== undefined && !ref.digest) {
      const base: RegistryReference = {
        kind: "registry",
        registry: ref.registry,
        repository: ref.repository,
      };
      try {
        const chosen = await resolveTag(this.client, base, {
          semver: range,
          ...(semverFilter !== undefined ? { semverFilter } : {}),
          ...(helm ? { helm } : {}),
        });
        tag = chosen.tag;
        target = chosen.digest;
      } catch (err) {
        if (err instanceof TagPolicyError) throw new UsageError(`${range}: ${err.message}`);
        throw err;
      }
    } else if (!ref.digest) tag ??= "latest";
    const manifest = await registry.getManifest(ref.repository, target);
    const pinned = { ...ref, ...(tag ? { tag } : {}), digest: manifest.digest };
    return {
      registry: ref.registry,
      repository: ref.repository,
      ...(tag ? { tag } : {}),
      digest: manifest.digest,
      resolved: formatReference(pinned),
      kind: kindOf(manifest.bytes, tag),
    };
  }
}

function kindOf(bytes: Buffer, tag: string | undefined): string {
  try {
    return detectKind({ manifest: JSON.parse(bytes.toString("utf8")) as unknown, tag: tag ?? null }).kind.id;
  } catch {
    return "unknown";
  }
}
