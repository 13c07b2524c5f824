import { RegistryError } from "../../oci/errors.js";
import type { Db } from "../../metadata/database.js";
import {
  accessoriesReferencingBlob,
  isRecordedAccessory,
  keysThatSigned,
  signedReferencesOfBlob,
} from "../../metadata/trust-decisions.js";
import {
  COSIGN_ACCESSORY_TAG,
  isWharfIndexShape,
  manifestShape,
  materialVerdict,
  type ManifestShape,
} from "./material.js";
import type { TrustState } from "./state.js";
import type { TrustPolicy } from "./types.js";

/** What the policies on a repository say about serving one manifest or blob. */
export interface PullDecision {
  /** A manifest is refused for itself, a blob for the manifests referencing it. */
  target: "manifest" | "blob";
  repository: string;
  digest: string;
  /** Policies in `enforce` mode it does not satisfy: the pull is refused (the first is named). */
  refused: TrustPolicy[];
  /** Policies in `warn` mode it does not satisfy: served with a warning. */
  warned: TrustPolicy[];
}

/** A pull refused by the trust policies: 403 DENIED naming the policy and its keys. */
export class TrustDeniedError extends RegistryError {
  constructor(readonly decision: PullDecision & { refused: [TrustPolicy, ...TrustPolicy[]] }) {
    const [policy] = decision.refused;
    super("DENIED", unsignedMessage(decision, decision.refused), {
      policy: policy.name,
      keys: policy.keys,
      repository: decision.repository,
      digest: decision.digest,
    });
  }
}

/**
 * `team/app@sha256:… is not signed by a key that trust policy 'prod' requires (keys: ci, release); …`.
 * Plain ASCII (names and digests are validated), as it also goes into the HTTP status line.
 */
export function unsignedMessage(decision: PullDecision, policies: readonly TrustPolicy[]): string {
  const [first, ...others] = policies.map((p) => `'${p.name}' requires (keys: ${p.keys.join(", ")})`);
  const nor = others.map((o) => `, nor by one that trust policy ${o}`).join("");
  const what = `${decision.repository}@${decision.digest}`;
  return decision.target === "manifest"
    ? `${what} is not signed by a key that trust policy ${first}${nor}; sign it (wharf sign REF --key KEY)`
    : `${what} belongs only to artifacts not signed by a key that trust policy ${first}${nor}; ` +
        `sign them (wharf sign REF --key KEY)`;
}

/**
 * Decides whether a pull may be served under the trust policies matching its repository. A repository no
 * policy matches costs nothing (the policies are cached per process). In a policed one a manifest costs
 * one indexed query: it is served when every matching policy is satisfied by a signature over its digest
 * (or over an index in the repository listing it) verified by one of the policy's keys that is still
 * registered, or when it is verification material (see materialVerdict) or the managed index the server
 * writes (never signed, a new digest on every rebuild). Blobs are decided by the manifests referencing
 * them, under the `enforce` policies only.
 */
export class TrustEnforcement {
  constructor(
    private readonly db: Db,
    private readonly trust: TrustState,
    /** Whether the repository holds a managed index (ManagedIndexes); only Wharf's index type there is. */
    private readonly isManagedIndexRepository: (repository: string) => boolean = () => false,
  ) {}

  /**
   * Null when no policy matches the repository. `mediaType` is the manifest's stored (served) media type;
   * `tag` is the reference it was fetched by.
   */
  async manifest(
    repository: string,
    digest: string,
    content: Buffer,
    mediaType: string,
    tag: string | null,
  ): Promise<PullDecision | null> {
    const policies = await this.trust.policiesFor(repository);
    if (policies.length === 0) return null;
    const allowed: PullDecision = { target: "manifest", repository, digest, refused: [], warned: [] };
    const shape = manifestShape(content, mediaType);
    const verdict = this.verdict(repository, shape);
    if (verdict === "material") return allowed;
    if (verdict === "if-cosign-accessory" && tag !== null && COSIGN_ACCESSORY_TAG.test(tag)) return allowed;
    const signedBy = await keysThatSigned(this.db, repository, digest, keysOf(policies));
    const unsatisfied = policies.filter((p) => !p.keys.some((k) => signedBy.has(k)));
    if (unsatisfied.length === 0) return allowed;
    // A cosign `.sig` image fetched by digest: its facts say what it is (a rare second query).
    if (verdict === "if-cosign-accessory" && (await isRecordedAccessory(this.db, repository, digest))) {
      return allowed;
    }
    return {
      ...allowed,
      refused: unsatisfied.filter((p) => p.mode === "enforce"),
      warned: unsatisfied.filter((p) => p.mode === "warn"),
    };
  }

  /**
   * Null when no `enforce` policy matches. Refused when every manifest in the repository referencing the
   * blob is refused (an unsigned artifact's config and layers); served when any allowed one does (a layer
   * shared with a signed image, a signature's own payload).
   */
  async blob(repository: string, digest: string): Promise<PullDecision | null> {
    const enforced = (await this.trust.policiesFor(repository)).filter((p) => p.mode === "enforce");
    if (enforced.length === 0) return null;
    const allowed: PullDecision = { target: "blob", repository, digest, refused: [], warned: [] };
    const signed = await signedReferencesOfBlob(this.db, repository, digest, keysOf(enforced));
    let best: TrustPolicy[] = enforced;
    for (const keys of signed.values()) {
      const unsatisfied = enforced.filter((p) => !p.keys.some((k) => keys.has(k)));
      if (unsatisfied.length === 0) return allowed;
      if (unsatisfied.length < best.length) best = unsatisfied;
    }
    const managed = this.isManagedIndexRepository(repository);
    for (const candidate of await accessoriesReferencingBlob(this.db, repository, digest, managed)) {
      const verdict = this.verdict(repository, manifestShape(candidate.content, candidate.mediaType));
      if (verdict === "material" || (verdict === "if-cosign-accessory" && candidate.accessory))
        return allowed;
    }
    return { ...allowed, refused: best };
  }

  private verdict(repository: string, shape: ManifestShape) {
    if (this.isManagedIndexRepository(repository) && isWharfIndexShape(shape)) return "material";
    return materialVerdict(shape);
  }
}

function keysOf(policies: readonly TrustPolicy[]): string[] {
  return [...new Set(policies.flatMap((p) => p.keys))];
}
