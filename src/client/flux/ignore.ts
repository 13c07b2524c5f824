/**
 * The paths `flux push artifact` leaves out by default (its --ignore-paths default: fluxcd/pkg
 * sourceignore ExcludeVCS and ExcludeExt), in .gitignore form.
 */
export const FLUX_DEFAULT_IGNORE = [
  ".git/",
  ".gitignore",
  ".gitmodules",
  ".gitattributes",
  "*.jpg",
  "*.jpeg",
  "*.gif",
  "*.png",
  "*.wmv",
  "*.flv",
  "*.tar.gz",
  "*.zip",
] as const;

interface Pattern {
  name: RegExp;
  dirOnly: boolean;
}

const PATTERNS: Pattern[] = FLUX_DEFAULT_IGNORE.map((p) => ({
  name: glob(p.endsWith("/") ? p.slice(0, -1) : p),
  dirOnly: p.endsWith("/"),
}));

/**
 * Whether the path (its components below the pushed directory) is ignored. Slash-free patterns match
 * any component, as go-git's gitignore matcher does, so everything under an ignored directory is too.
 */
export function isIgnored(parts: readonly string[], isDir: boolean): boolean {
  return PATTERNS.some((p) =>
    parts.some((part, i) => p.name.test(part) && (!p.dirOnly || isDir || i < parts.length - 1)),
  );
}

/** filepath.Match for one component: `*` is any run of characters, `?` one. */
function glob(pattern: string): RegExp {
  const body = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "s");
}
