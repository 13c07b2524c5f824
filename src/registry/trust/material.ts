import { WHARF_INDEX_MEDIA_TYPE } from "../../oci/kinds/index.js";
import { viewManifest, type ManifestView } from "../../oci/kinds/view.js";
import { INDEX_MEDIA_TYPES, MediaType, essenceOf } from "../../oci/media-types.js";

/**
 * cosign's accessory tags, `sha256-<hex>.sig|.att|.sbom`, naming the digest they are about. Only these
 * three suffixes, and only with a whole digest: `sha256-<hex>.prod` is an ordinary tag.
 */
export const COSIGN_ACCESSORY_TAG = /^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})\.(sig|att|sbom)$/;

/**
 * Media types (artifactType, config or layer) of verification material: signatures, attestations and
 * SBOMs, which no pull client deploys. An allow list: anything else is checked like an artifact.
 */
const MATERIAL_TYPES = new Set([
  // sigstore: bundles of any version (v0.1/v0.2 carry it as a parameter, v0.3 in the name)
  "application/vnd.dev.sigstore.bundle+json",
  // cosign: simple signing (`.sig`), its OCI 1.1 referrer types, attestations (DSSE) and SBOM attachments
  "application/vnd.dev.cosign.simplesigning.v1+json",
  "application/vnd.dev.cosign.artifact.sig.v1+json",
  "application/vnd.dev.cosign.artifact.sbom.v1+json",
  "application/vnd.dsse.envelope.v1+json",
  // Notation: the signature's artifactType (config in older notation) and its JWS and COSE envelopes
  "application/vnd.cncf.notary.signature",
  "application/jose+json",
  "application/cose",
  // in-toto statements (buildkit attestations)
  "application/vnd.in-toto+json",
  // SBOMs: SPDX, CycloneDX, Syft
  "application/spdx+json",
  "application/spdx+xml",
  "application/spdx+yaml",
  "text/spdx",
  "text/spdx+json",
  "text/spdx+xml",
  "application/vnd.cyclonedx",
  "application/vnd.cyclonedx+json",
  "application/vnd.cyclonedx+xml",
  "application/vnd.syft+json",
]);
const SIGSTORE_BUNDLE = /^application\/vnd\.dev\.sigstore\.bundle(\.v[0-9.]+)?\+json$/;
/** in-toto predicate-specific types (`application/vnd.in-toto.<predicate>+json`). */
const IN_TOTO = /^application\/vnd\.in-toto\.[a-z0-9.-]+\+json$/;
/** Image configs: a cosign `.sig`/`.att`/`.sbom` image has one (see isMaterial). */
const IMAGE_CONFIGS = new Set<string>([MediaType.OciConfig, MediaType.DockerConfig]);

function isMaterialType(mediaType: string | null): boolean {
  if (mediaType === null) return false;
  const essence = essenceOf(mediaType);
  return MATERIAL_TYPES.has(essence) || SIGSTORE_BUNDLE.test(essence) || IN_TOTO.test(essence);
}

/** A manifest as the enforcement reads it: classed by the media type it is stored and served as. */
export interface ManifestShape {
  view: ManifestView | null;
  isIndex: boolean;
}

/**
 * Never throws: an unparsable manifest has no view (it is never material). Index or image is decided by
 * the stored media type, not by the body's fields: what a client is served as is what it deploys.
 */
export function manifestShape(content: Buffer, mediaType: string): ManifestShape {
  const isIndex = INDEX_MEDIA_TYPES.has(essenceOf(mediaType));
  try {
    return { view: viewManifest(JSON.parse(content.toString("utf8"))), isIndex };
  } catch {
    return { view: null, isIndex };
  }
}

/** What the content alone says: material, not material, or material if it is a cosign accessory image. */
export type MaterialVerdict = "material" | "artifact" | "if-cosign-accessory";

/**
 * Verification material is served whatever the policies say, so that clients can fetch what they need
 * to verify. It is decided by content only: an image manifest whose artifactType (if any), config and
 * every layer are material types (config may also be the empty descriptor). A subject or a tag never
 * makes anything material: an image, chart or Flux artifact naming a subject is checked like any other.
 * An image config with material layers is cosign's own `.sig`/`.att`/`.sbom` image only when reached
 * through its accessory tag or recorded as an accessory (the caller checks which).
 */
export function materialVerdict(shape: ManifestShape): MaterialVerdict {
  const view = shape.view;
  // An index is checked like an artifact; its children are decided on their own when fetched.
  if (!view || shape.isIndex) return "artifact";
  if (view.artifactType !== null && !isMaterialType(view.artifactType)) return "artifact";
  if (view.layers.length === 0 || !view.layers.every((l) => isMaterialType(l.mediaType))) return "artifact";
  const config = view.config?.mediaType ?? null;
  if (config === null) return "artifact";
  const essence = essenceOf(config);
  if (essence === MediaType.OciEmpty || isMaterialType(config)) return "material";
  return IMAGE_CONFIGS.has(essence) ? "if-cosign-accessory" : "artifact";
}

/** Whether the manifest is Wharf's managed index artifact in shape (see TrustEnforcement). */
export function isWharfIndexShape(shape: ManifestShape): boolean {
  const view = shape.view;
  if (!view || shape.isIndex || view.artifactType !== WHARF_INDEX_MEDIA_TYPE) return false;
  const [layer, ...more] = view.layers;
  return (
    view.config?.mediaType === MediaType.OciEmpty &&
    more.length === 0 &&
    layer?.mediaType === WHARF_INDEX_MEDIA_TYPE
  );
}
