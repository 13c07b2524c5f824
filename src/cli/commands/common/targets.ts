import { existsSync } from "node:fs";
import { UsageError } from "../../../client/errors.js";
import { isValidMediaType } from "../../../oci/media-types.js";
import type { Reference } from "../../../client/reference.js";
import { LayoutTarget } from "../../../client/layout.js";
import { RegistryTarget, type Target } from "../../../client/target.js";
import type { Context } from "./context.js";

/** The registry repository or OCI layout a reference names. */
export function openTarget(ctx: Context, ref: Reference): Target {
  if (ref.kind === "registry") return new RegistryTarget(ctx.client, ref);
  return new LayoutTarget(ref.path);
}

/** What to resolve in the target: digest, tag, else `latest` (registries) or the only manifest (layouts). */
export function targetReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? (ref.kind === "registry" ? "latest" : "");
}

/** `file.txt:text/plain` → path and media type, as ORAS writes them (unless the whole thing is a file). */
export function splitMediaType(arg: string): { path: string; mediaType?: string } {
  if (existsSync(arg)) return { path: arg };
  const colon = arg.lastIndexOf(":");
  if (colon > 0) {
    const mediaType = arg.slice(colon + 1);
    if (isValidMediaType(mediaType)) return { path: arg.slice(0, colon), mediaType };
  }
  return { path: arg };
}

/** `key=value` pairs into a record; a bad pair is a usage error. */
export function parseAnnotations(pairs: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`annotation ${JSON.stringify(pair)} must be key=value`);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}
