/**
 * The literal start every repository a glob matches shares ("team-a" for `team-a/**`), to narrow a
 * scan of repository names before the glob itself decides. Cut back before a trailing `/`, since
 * `team-a/**` matches `team-a` too; empty for a negated pattern, which may match anything.
 */
export function globPrefix(pattern: string): string {
  if (pattern.startsWith("!")) return "";
  const end = pattern.search(/[*?[{\\]/);
  const literal = end < 0 ? pattern : pattern.slice(0, end);
  return literal.endsWith("/") ? literal.slice(0, -1) : literal;
}
