/** Media types, annotations and predicate types of the signature formats (as cosign and Notation write them). */
export const SIGSTORE_BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const NOTATION_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature";
export const NOTATION_JWS_MEDIA_TYPE = "application/jose+json";
/** A signature layer larger than this is not a signature: refused before it is read. */
export const MAX_SIGNATURE_LAYER_BYTES = 1024 * 1024;
/** At most this many signatures are checked per artifact (a `.sig` tag's layers, referrers). */
export const MAX_SIGNATURES = 256;
