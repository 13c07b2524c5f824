/** One `WWW-Authenticate` challenge: the scheme (lower-cased) and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
  /** A parameter given twice (`realm=… realm=…`): the challenge is ambiguous, maybe injected. */
  duplicate?: string;
}

/**
 * Parses `Bearer realm="…",service="…",scope="repository:a:pull,push"` (RFC 9110 auth-params, where a
 * quoted value may hold commas). Several challenges in one header are split at each new scheme.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const challenges: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    let current: Challenge | undefined;
    while (i < value.length) {
      i = skip(value, i, /[\s,]/);
      const token = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(value.slice(i));
      if (!token) break;
      i += token[0].length;
      const afterToken = skip(value, i, /\s/);
      if (value[afterToken] === "=" && current) {
        const { text, end } = readValue(value, skip(value, afterToken + 1, /\s/));
        const key = token[0].toLowerCase();
        if (Object.hasOwn(current.params, key)) current.duplicate ??= key;
        current.params[key] = text;
        i = end;
      } else {
        current = { scheme: token[0].toLowerCase(), params: {} };
        challenges.push(current);
        i = afterToken;
      }
    }
  }
  return challenges;
}

function readValue(value: string, start: number): { text: string; end: number } {
  if (value[start] !== '"') {
    const match = /^[^\s,]*/.exec(value.slice(start));
    const text = match?.[0] ?? "";
    return { text, end: start + text.length };
  }
  let text = "";
  let i = start + 1;
  while (i < value.length && value[i] !== '"') {
    if (value[i] === "\\" && i + 1 < value.length) i++;
    text += value[i];
    i++;
  }
  return { text, end: i + 1 };
}

function skip(value: string, start: number, pattern: RegExp): number {
  let i = start;
  while (i < value.length && pattern.test(value[i] ?? "")) i++;
  return i;
}
