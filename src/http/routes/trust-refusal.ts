import type { RouteContext } from "./types.js";
import { TrustDeniedError, unsignedMessage, type PullDecision } from "../../registry/trust/enforcement.js";

/**
 * Applies a trust decision to a pull: a refusal is audited (`trust.deny`, folded per artifact) and
 * answered 403 DENIED with the message in the status line too (helm and other clients on containerd's
 * resolver print only that); a warning is audited (`trust.warn`, folded the same way) and sent as a
 * `Warning: 299` header, which docker and containerd print.
 */
export async function applyTrustDecision(ctx: RouteContext, decision: PullDecision | null): Promise<void> {
  if (!decision) return;
  const [refusing] = decision.refused;
  if (refusing) {
    const err = new TrustDeniedError({ ...decision, refused: [refusing, ...decision.refused.slice(1)] });
    ctx.reply.raw.statusMessage = `Forbidden: ${statusText(err.message)}`;
    await ctx.refused({
      action: "trust.deny",
      repository: decision.repository,
      target: decision.digest,
      reason: `not signed as trust policy '${refusing.name}' requires`,
      detail: { policy: refusing.name, keys: refusing.keys, digest: decision.digest, of: decision.target },
    });
    throw err;
  }
  const [warning] = decision.warned;
  if (!warning) return;
  const message = unsignedMessage(decision, decision.warned);
  ctx.reply.header("Warning", `299 - "${statusText(message).replace(/["\\]/g, "'")}"`);
  await ctx.auditRepeated({
    action: "trust.warn",
    repository: decision.repository,
    target: decision.digest,
    detail: {
      reason: `not signed as trust policy '${warning.name}' requires`,
      policy: warning.name,
      keys: warning.keys,
      digest: decision.digest,
      of: decision.target,
    },
  });
}

/** Printable ASCII only: a status line or header value must not carry control or non-Latin-1 bytes. */
function statusText(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "?");
}
