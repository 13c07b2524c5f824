import { NotFoundError, UsageError } from "./errors.js";
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

const PLATFORM = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)?$/i;

/** Checks a `--platform` value: `os/arch[/variant]`, e.g. linux/amd64 or linux/arm64/v8. */
export function checkPlatform(platform: string | undefined): string | undefined {
  if (platform === undefined || PLATFORM.test(platform)) return platform;
  throw new UsageError(
    `--platform ${JSON.stringify(platform)}: expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`,
  );
}

/** Which manifest of a multi-platform index was taken, for messages and --json. */
export interface PlatformChoice {
  /** The index itself. */
  index: { digest: string; mediaType: string };
  /** What was taken, e.g. linux/amd64. */
  platform: string;
  /** Every platform the index has. */
  platforms: string[];
}

export function platformChoice(
  index: { digest: string; mediaType: string },
  chosen: Entry,
  children: Entry[],
): PlatformChoice {
  return {
    index: { digest: index.digest, mediaType: index.mediaType },
    platform: chosen.platform ? formatPlatform(chosen.platform) : chosen.digest,
    platforms: children.map((c) => (c.platform ? formatPlatform(c.platform) : c.digest)),
  };
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
  const platform = checkPlatform(wanted) ?? hostPlatform();
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
