import type { Descriptor } from "../manifest.js";
import { MAX_SIGNATURE_LAYER_BYTES } from "./constants.js";

/** A signature layer's bytes, or why they cannot be checked (too large, unreadable): never throws. */
export async function readSignatureLayer(
  layer: Descriptor,
  readLayer: (layer: Descriptor) => Promise<Buffer>,
): Promise<{ bytes: Buffer } | { problem: string }> {
  const limit = `${MAX_SIGNATURE_LAYER_BYTES / 1024 / 1024} MiB`;
  if (layer.size > MAX_SIGNATURE_LAYER_BYTES)
    return { problem: `the signature layer ${layer.digest} is larger than ${limit}: not read` };
  try {
    const bytes = await readLayer(layer);
    if (bytes.length > MAX_SIGNATURE_LAYER_BYTES)
      return { problem: `the signature layer ${layer.digest} is larger than ${limit}: not checked` };
    return { bytes };
  } catch (err) {
    return {
      problem: `the signature layer ${layer.digest} could not be read: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/** JSON.parse that answers undefined instead of throwing (signature payloads are untrusted). */
export function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** A plain JSON object, or undefined. */
export function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
