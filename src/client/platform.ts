import { NotFoundError } from "./errors.js";
import type { Descriptor, Platform } from "./manifest.js";

type Entry = Descriptor & { platform?: Platform };

/** This machine as an OCI platform, e.g. linux/amd64. */
export function hostPlatform(): string {
  const arch = ({ x64: "amd64", ia32: "386" } as Record<string, string>)[process.arch] ?? process.arch;
  return `linux/${arch}`;
}

export function formatPlatform(platform: Platform): string {
  return `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
}

/**
 * The entry of an index for `wanted` (os/arch[/variant], default this machine). Undefined when no entry
 * has a platform at all: such an index is a set of artifacts, not of platform images.
 */
export function selectPlatform(
  children: Entry[],
  wanted: string | undefined,
  what: string,
): Entry | undefined {
  if (!children.some((c) => c.platform)) return undefined;
  const platform = wanted ?? hostPlatform();
  const [os, architecture, variant] = platform.split("/");
  const found = children.find((c) => {
    const p = c.platform;
    return (
      p !== undefined && p.os === os && p.architecture === architecture && (!variant || p.variant === variant)
    );
  });
  if (found) return found;
  const list = children.map((c) => (c.platform ? formatPlatform(c.platform) : c.digest)).join(", ");
  throw new NotFoundError(`${what} has no manifest for ${platform} (it has ${list}); choose with --platform`);
}
