/**
 * Pattern matching for detection rules: an exact string, or one `*` standing for any run of characters.
 * A prefix and suffix test, so matching is linear in the value whatever an operator writes.
 */
export function matchesPattern(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star < 0) return pattern === value;
  const prefix = pattern.slice(0, star);
  const suffix = pattern.slice(star + 1);
  return value.length >= prefix.length + suffix.length && value.startsWith(prefix) && value.endsWith(suffix);
}

/** Media types compare without parameters and case-insensitively. */
export function mediaTypeKey(value: string): string {
  const semicolon = value.indexOf(";");
  return (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

export function matchesMediaType(patterns: readonly string[] | undefined, value: string | null): boolean {
  if (!patterns || value === null) return false;
  const key = mediaTypeKey(value);
  return patterns.some((p) => matchesPattern(p.toLowerCase(), key));
}

/** Whether any of the values (a set built once per artifact) matches any pattern. */
export function anyMediaTypeMatches(
  patterns: readonly string[] | undefined,
  values: ReadonlySet<string>,
): boolean {
  if (!patterns || values.size === 0) return false;
  for (const pattern of patterns) {
    const p = pattern.toLowerCase();
    if (!p.includes("*")) {
      if (values.has(p)) return true;
      continue;
    }
    for (const value of values) if (matchesPattern(p, value)) return true;
  }
  return false;
}

/** Whether one of the maps has an entry whose key and value match one of the rule's key → value patterns. */
export function matchesEntries(
  rules: Readonly<Record<string, string>> | undefined,
  maps: readonly Readonly<Record<string, string>>[],
): boolean {
  if (!rules) return false;
  for (const [keyPattern, valuePattern] of Object.entries(rules)) {
    const exactKey = !keyPattern.includes("*");
    for (const map of maps) {
      if (exactKey) {
        const value = Object.hasOwn(map, keyPattern) ? map[keyPattern] : undefined;
        if (value !== undefined && matchesPattern(valuePattern, value)) return true;
        continue;
      }
      for (const [key, value] of Object.entries(map)) {
        if (matchesPattern(keyPattern, key) && matchesPattern(valuePattern, value)) return true;
      }
    }
  }
  return false;
}
