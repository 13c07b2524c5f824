import { COSIGN_TAG } from "../../oci/kinds/index.js";
import { viewManifest, type ManifestView } from "../../oci/kinds/view.js";

/** Config media types of what pull clients deploy: container images, Helm charts, Flux artifacts. */
const DEPLOYABLE_CONFIGS = new Set([
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
  "application/vnd.cncf.helm.config.v1+json",
  "application/vnd.cncf.flux.config.v1+json",
]);
/** Their content layers: filesystem layers, chart and Flux tarballs. */
const DEPLOYABLE_LAYER =
  /^application\/vnd\.(oci\.image\.layer\.|docker\.image\.rootfs\.|cncf\.helm\.chart\.content\.|cncf\.flux\.content\.)/;

/**
 * A manifest's shape as the enforcement needs it: whether a pull client would deploy it, and whether it
 * names a subject.
 */
export interface ManifestShape {
  /** An image, chart or Flux artifact (a deployable config and at least one content layer). */
  deployable: boolean;
  subject: string | null;
}

/** Never throws: an unparsable manifest is treated as deployable (it gets no exemption). */
export function manifestShape(content: Buffer): ManifestShape {
  let view: ManifestView;
  try {
    view = viewManifest(JSON.parse(content.toString("utf8")));
  } catch {
    return { deployable: true, subject: null };
  }
  return { deployable: isDeployable(view), subject: view.subject };
}

function isDeployable(view: ManifestView): boolean {
  if (view.isIndex) return false; // its children are decided on their own when fetched
  const config = view.config?.mediaType;
  if (!config || !DEPLOYABLE_CONFIGS.has(config)) return false;
  return view.layers.some((l) => l.mediaType !== null && DEPLOYABLE_LAYER.test(l.mediaType));
}

/**
 * Verification material is served whatever the policies say, so that clients can fetch what they need to
 * verify: a referrer (signature bundle, SBOM, attestation, report), or a manifest under a cosign
 * `sha256-<hex>.sig|.att|.sbom` tag. Not an image, chart or Flux artifact that merely names a subject
 * (adding `subject` to an image would otherwise make it pullable unsigned).
 */
export function isMaterialByShape(shape: ManifestShape, tag: string | null): boolean {
  if (shape.deployable) return false;
  return shape.subject !== null || (tag !== null && COSIGN_TAG.test(tag));
}
