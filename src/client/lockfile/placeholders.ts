import { UsageError } from "../errors.js";

/** `${context.KEY}`: the deploy tool's placeholders (seed 000), substituted from `--context KEY=VALUE`. */
const PLACEHOLDER = /\$\{([^}]*)\}/g;
const CONTEXT_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export type ContextValues = Readonly<Record<string, string>>;

export function hasPlaceholder(text: string): boolean {
  return text.includes("${");
}

/**
 * The text with every placeholder stood in for by a neutral name component, so that detection can tell
 * `reg.example.com/${context.project_id}/app:v1` for a reference before any context is known.
 */
export function neutralized(text: string): string {
  return text.replace(PLACEHOLDER, "x.x");
}

/** Substitutes `${context.KEY}`; any other placeholder, or a key without a value, is an error. */
export function substitute(text: string, context: ContextValues, where: string): string {
  return text.replace(PLACEHOLDER, (whole, inner: string) => {
    const match = /^\s*context\.(.+?)\s*$/.exec(inner);
    if (!match) {
      throw new UsageError(
        `${where}: ${whole} is not a context placeholder; only \${context.KEY} can be resolved`,
      );
    }
    const key = match[1] as string;
    const value = Object.hasOwn(context, key) ? context[key] : undefined;
    if (value === undefined) {
      throw new UsageError(`${where}: ${whole} has no value: pass --context ${key}=VALUE`);
    }
    return value;
  });
}

/** `--context KEY=VALUE` options, each key once. */
export function parseContext(pairs: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !CONTEXT_KEY.test(key))
      throw new UsageError(`--context ${pair}: expected KEY=VALUE, KEY of letters, digits, _ and -`);
    if (Object.hasOwn(context, key)) throw new UsageError(`--context ${key} given twice`);
    context[key] = pair.slice(eq + 1);
  }
  return context;
}
