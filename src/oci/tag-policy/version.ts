// Semantic versions as Masterminds/semver v3 parses and orders them, and Flux's ParseVersion on top.

const UINT64_MAX = 18446744073709551615n;
const IDENTS = "[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*";
// Masterminds' NewVersion: coerces `1` and `1.2`, allows a `v` and leading zeros in the numbers.
const LOOSE = new RegExp(`^v?([0-9]+)(\\.[0-9]+)?(\\.[0-9]+)?(?:-(${IDENTS}))?(?:\\+(${IDENTS}))?$`);
// Flux's ParseVersion = StrictNewVersion (three parts, no leading zeros) + one optional `v`.
const STRICT = new RegExp(
  `^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(?:-(${IDENTS}))?(?:\\+(${IDENTS}))?$`,
);

/** A parsed version. Build metadata is kept but never compared. */
export class Version {
  constructor(
    readonly major: bigint,
    readonly minor: bigint,
    readonly patch: bigint,
    readonly prerelease: string,
    readonly metadata: string,
    /** The text that was parsed (with its `v`, or the Helm `+` mapping). */
    readonly original: string,
  ) {}

  /** Normalised: no `v`, `+` for build metadata. */
  toString(): string {
    let text = `${this.major}.${this.minor}.${this.patch}`;
    if (this.prerelease) text += `-${this.prerelease}`;
    if (this.metadata) text += `+${this.metadata}`;
    return text;
  }

  /** -1, 0 or 1, by major.minor.patch then pre-release (a pre-release is lower); metadata ignored. */
  compare(other: Version): number {
    const d =
      cmpBig(this.major, other.major) || cmpBig(this.minor, other.minor) || cmpBig(this.patch, other.patch);
    if (d !== 0) return d;
    if (this.prerelease === other.prerelease) return 0;
    if (!this.prerelease) return 1;
    if (!other.prerelease) return -1;
    return comparePrerelease(this.prerelease, other.prerelease);
  }
}

/** A tag that parses as a version: three numeric parts, optional `v`, pre-release and build. */
export interface VersionTag {
  tag: string;
  version: Version;
}

export interface VersionTagOptions {
  /** Read Helm chart tags: every `_` is a `+` and no `v` prefix (Helm's StrictNewVersion). */
  helm?: boolean;
}

/**
 * Flux's version parsing of a tag: `fluxcd/pkg/version.ParseVersion` (strict semver 2.0 with one optional
 * leading `v`), or with `helm` the Helm registry client's (`_` read as `+`, strict, no `v`).
 */
export function parseVersionTag(tag: string, options: VersionTagOptions = {}): VersionTag | undefined {
  let text = tag;
  if (options.helm) text = tag.replaceAll("_", "+");
  else if (text.startsWith("v")) text = text.slice(1);
  const m = STRICT.exec(text);
  if (!m) return undefined;
  const version = build(m[1]!, m[2]!, m[3]!, m[4] ?? "", m[5] ?? "", options.helm ? text : tag);
  return version && { tag, version };
}

/**
 * Whether a tag looks like a version (the immutability keyword `semver`): it parses as Flux parses it,
 * or as a Helm chart tag (`1.2.3_build`), since charts are pushed with `_` for `+`.
 */
export function isVersionTag(tag: string): boolean {
  return (
    parseVersionTag(tag) !== undefined ||
    (tag.includes("_") && parseVersionTag(tag, { helm: true }) !== undefined)
  );
}

/** Masterminds' NewVersion, as constraints use it (`1.2` is `1.2.0`). */
export function parseLooseVersion(text: string): Version | undefined {
  const m = LOOSE.exec(text);
  if (!m) return undefined;
  const strip = (part: string | undefined) => (part ? part.slice(1) : "0");
  return build(m[1]!, strip(m[2]), strip(m[3]), m[4] ?? "", m[5] ?? "", text);
}

function build(
  major: string,
  minor: string,
  patch: string,
  pre: string,
  meta: string,
  original: string,
): Version | undefined {
  const parts = [major, minor, patch].map((p) => BigInt(p));
  if (parts.some((p) => p > UINT64_MAX)) return undefined; // Go's ParseUint(…, 64) fails
  // A numeric pre-release identifier must not have leading zeros (validatePrerelease).
  if (pre && pre.split(".").some((id) => /^0[0-9]+$/.test(id))) return undefined;
  return new Version(parts[0]!, parts[1]!, parts[2]!, pre, meta, original);
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Masterminds' comparePrerelease: identifier by identifier; numbers (that fit a uint64) below words, a
// missing identifier below a present one, words in byte order.
function comparePrerelease(a: string, b: string): number {
  const as = a.split(".");
  const bs = b.split(".");
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const d = comparePart(as[i] ?? "", bs[i] ?? "");
    if (d !== 0) return d;
  }
  return 0;
}

function comparePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === "") return -1;
  if (o === "") return 1;
  const sn = asUint64(s);
  const on = asUint64(o);
  if (sn === undefined && on === undefined) return s > o ? 1 : -1;
  if (on === undefined) return -1;
  if (sn === undefined) return 1;
  return sn > on ? 1 : -1;
}

function asUint64(text: string): bigint | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n > UINT64_MAX ? undefined : n;
}
