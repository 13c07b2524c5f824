/**
 * @sigstore/oci, the third-party OCI client of sigstore-js. Its 0.6.0 requires `promise-retry` without
 * declaring it (make-fetch-happen 15 stopped bringing it), so this repository's dev dependencies name it.
 */
export { attachArtifactToImage } from "@sigstore/oci";
export type { Credentials } from "@sigstore/oci";
