import type { Kind } from "../types.js";

/** Fills the flags most kinds leave at their defaults, so catalogue entries list only what is particular. */
export function kind(entry: Omit<Kind, "accessory" | "hiddenFromPlatforms"> & Partial<Kind>): Kind {
  return { accessory: false, hiddenFromPlatforms: false, ...entry };
}
