import {
  MAX_SIGNATURES,
  MAX_SIGNATURE_LAYER_BYTES,
  NOTATION_ARTIFACT_TYPE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  identifySignature,
  legacySignatureTag,
  verifySignatureArtifact,
  type SignatureArtifact,
  type SignatureFormat,
  type TrustedKey,
} from "../../oci/signatures/index.js";
import { IntegrityError, NotFoundError, errorMessage } from "../errors.js";
import type { Descriptor } from "../manifest.js";
import type { Target } from "../target.js";

/** One signature found for the artifact, and what checking it gave. */
export interface SignatureReport {
  format: SignatureFormat;
  /** The digest of the manifest that holds it (a referrer, or the `.sig` image). */
  manifest: string;
  /** Where it was found: `referrer`, or the `.sig` tag. */
  foundBy: "referrer" | "tag";
  /** `.sig` signatures: the layer (payload) digest. */
  layer?: string;
  /** The digest the signature covers, as its payload states it. */
  subject: string;
  /** Names of the trusted keys (and certificates) whose signature verified over this artifact's digest. */
  signers: string[];
  /** Why no trusted key verified it. */
  problem?: string;
  /** The key the signature names (hex SHA-256 of its SPKI DER), when it names one. */
  keyHint?: string;
}

export interface VerifyReport {
  /** The digest checked (what the reference resolved to). */
  digest: string;
  /** True when at least one trusted key verified a signature over `digest`. */
  verified: boolean;
  /** Every trusted key that did, once each. */
  signers: string[];
  signatures: SignatureReport[];
  /** What was not checked and why (too many signatures, an oversized layer, an unreadable referrer). */
  skipped: string[];
}

/**
 * Referrers that may hold signatures, by the artifact type their descriptor carries: Notation's, and
 * Sigstore bundles under any of their media types (cosign v3's, sigstore-js's older `+json;version=`
 * ones). Other referrers (SBOMs, attestations…) are not fetched; identifySignature decides the rest.
 */
function maySign(artifactType: string | undefined): boolean {
  if (artifactType === undefined) return false;
  return (
    artifactType === NOTATION_ARTIFACT_TYPE ||
    artifactType === SIGSTORE_BUNDLE_MEDIA_TYPE ||
    artifactType.startsWith("application/vnd.dev.sigstore.bundle")
  );
}

/**
 * Finds every signature of `subject` in `target`, as cosign and Notation store them: referrers (Sigstore
 * bundles, Notation envelopes; the tag fallback on registries without the referrers API) and the
 * `sha256-<hex>.sig` tag, and checks each against `keys`: the signature over the exact payload, and the
 * payload's digest equal to `subject`. At most MAX_SIGNATURES signatures are checked, each layer at most
 * MAX_SIGNATURE_LAYER_BYTES; the report says what was skipped. Never throws for a bad signature.
 */
export async function verifyArtifact(
  target: Target,
  subject: Descriptor,
  keys: readonly TrustedKey[],
): Promise<VerifyReport> {
  const report: VerifyReport = {
    digest: subject.digest,
    verified: false,
    signers: [],
    signatures: [],
    skipped: [],
  };
  let budget = MAX_SIGNATURES;
  const check = async (artifact: SignatureArtifact, manifest: string, foundBy: "referrer" | "tag") => {
    if (budget <= 0) return;
    let layers = artifact.layers;
    if (layers.length > budget) {
      report.skipped.push(
        `${manifest}: ${layers.length - budget} of its ${layers.length} signatures not checked (at most ${MAX_SIGNATURES} per artifact)`,
      );
      layers = layers.slice(0, budget);
    }
    budget -= layers.length;
    for (const layer of layers) {
      const one = { ...artifact, layers: [layer] };
      const base = {
        format: artifact.format,
        manifest,
        foundBy,
        ...(foundBy === "tag" ? { layer: layer.digest } : {}),
      };
      if (layer.size > MAX_SIGNATURE_LAYER_BYTES) {
        report.skipped.push(
          `${manifest}: layer ${layer.digest} is ${layer.size} bytes, over the ${MAX_SIGNATURE_LAYER_BYTES} a signature may have: not read`,
        );
        report.signatures.push({
          ...base,
          subject: artifact.subject,
          signers: [],
          problem: "signature layer too large: not read",
        });
        continue;
      }
      try {
        const verdicts = await verifySignatureArtifact(
          one,
          (l) => readLayer(target, l),
          subject.digest,
          keys,
        );
        for (const v of verdicts) {
          report.signatures.push({
            ...base,
            subject: v.subject,
            signers: v.signers,
            ...(v.problem ? { problem: v.problem } : {}),
            ...(v.keyHint ? { keyHint: v.keyHint } : {}),
          });
        }
      } catch (err) {
        report.signatures.push({
          ...base,
          subject: artifact.subject,
          signers: [],
          problem: errorMessage(err),
        });
      }
    }
  };

  let referrers: Descriptor[];
  try {
    referrers = await target.referrers(subject);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    referrers = [];
  }
  const candidates = referrers.filter((r) => maySign(r.artifactType));
  for (const referrer of candidates) {
    if (budget <= 0) {
      report.skipped.push(`referrer ${referrer.digest}: not checked (at most ${MAX_SIGNATURES} signatures)`);
      continue;
    }
    try {
      const data = await target.fetchManifest(referrer);
      const artifact = identifySignature(JSON.parse(data.bytes.toString("utf8")) as unknown);
      if (!artifact) {
        report.skipped.push(
          `referrer ${referrer.digest} (${referrer.artifactType}): not a signature Wharf can read`,
        );
        continue;
      }
      await check(artifact, referrer.digest, "referrer");
    } catch (err) {
      report.skipped.push(`referrer ${referrer.digest}: ${errorMessage(err)}`);
    }
  }

  const tag = legacySignatureTag(subject.digest);
  const sig = await resolveOptional(target, tag);
  if (sig) {
    try {
      const data = await target.fetchManifest(sig);
      const artifact = identifySignature(JSON.parse(data.bytes.toString("utf8")) as unknown, tag);
      if (artifact) await check(artifact, sig.digest, "tag");
      else report.skipped.push(`${tag} (${sig.digest}): not a cosign signature image`);
    } catch (err) {
      report.skipped.push(`${tag} (${sig.digest}): ${errorMessage(err)}`);
    }
  }

  const signers = new Set(
    report.signatures.filter((s) => s.subject === subject.digest).flatMap((s) => s.signers),
  );
  report.signers = [...signers];
  report.verified = signers.size > 0;
  return report;
}

/** One line saying what was found, for the refusal message and the summary. */
export function verifySummary(report: VerifyReport, name: string): string {
  const n = report.signatures.length;
  if (report.verified)
    return `${name} is signed by ${report.signers.join(", ")} (${n} signature${n === 1 ? "" : "s"} checked)`;
  if (n === 0)
    return `no signatures found for ${name}${report.skipped.length ? ` (${report.skipped.length} skipped)` : ""}`;
  const reasons = [...new Set(report.signatures.map((s) => s.problem ?? "no trusted key"))].join("; ");
  return `${n} signature${n === 1 ? "" : "s"} for ${name}, none by a trusted key: ${reasons}`;
}

/** A signature layer, read whole (it is small: checked against MAX_SIGNATURE_LAYER_BYTES first) and verified. */
async function readLayer(target: Target, layer: Descriptor): Promise<Buffer> {
  if (layer.size > MAX_SIGNATURE_LAYER_BYTES)
    throw new IntegrityError(
      `signature layer ${layer.digest} is larger than ${MAX_SIGNATURE_LAYER_BYTES} bytes`,
    );
  const chunks: Buffer[] = [];
  for await (const chunk of await target.fetchBlob(layer)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function resolveOptional(target: Target, tag: string): Promise<Descriptor | undefined> {
  try {
    return await target.resolve(tag);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
