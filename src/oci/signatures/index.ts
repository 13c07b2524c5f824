/** Signature formats (Sigstore bundles, cosign's `.sig` images, Notation), keys, signing and verifying. */
export * from "./constants.js";
export * from "./types.js";
export * from "./keys.js";
export * from "./sign.js";
export * from "./identify.js";
export * from "./verify.js";
