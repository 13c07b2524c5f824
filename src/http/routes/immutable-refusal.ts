import type { RouteContext } from "./types.js";
import { ImmutableTagError } from "../../registry/immutable/service.js";

/**
 * A refused move or removal of an immutable tag (or of what one serves) goes to the audit log
 * (throttled), then to the client.
 */
export async function auditingImmutable<T>(
  ctx: RouteContext,
  action: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ImmutableTagError) {
      // Clients built on containerd's resolver (helm, nerdctl, buildkit) print only the status line,
      // never the error body: the reason phrase carries the message to them too. It is plain ASCII
      // (tags, rule names and globs are validated), so it cannot break the status line.
      ctx.reply.raw.statusMessage = `Forbidden: ${err.message}`;
      await ctx.refused({
        action,
        repository: ctx.name,
        target: err.refusal.tag,
        reason: `immutable (rule '${err.refusal.rule}')`,
      });
    }
    throw err;
  }
}
