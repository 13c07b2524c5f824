import { compileGlob, GlobSyntaxError } from "../auth/glob.js";

/** Names of administrators' rules and policies (immutable-tag rules, trust keys and policies). */
const RULE_NAME = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;
const REPOSITORY_GLOB = /^[a-z0-9._\-/*?{},![\]]{1,255}$/;

/** What is wrong with a rule's name (`what`: "rule", "key", "policy"), or undefined. */
export function ruleNameProblem(name: string, what: string): string | undefined {
  if (RULE_NAME.test(name)) return undefined;
  return (
    `invalid ${what} name ${quote(name)}: use 1-64 lower-case letters, digits, '.', '_' or '-', ` +
    "starting and ending with a letter or digit"
  );
}

/** What is wrong with a repository glob (as access rules take them), or undefined. */
export function repositoryGlobProblem(pattern: string): string | undefined {
  if (!REPOSITORY_GLOB.test(pattern) || pattern.includes("..")) {
    return (
      `invalid repository pattern ${quote(pattern)}: a repository name with globs ` +
      "(*, **, ?, [a-z], {a,b}), at most 255 characters"
    );
  }
  return globProblem(pattern, "repository pattern");
}

export function globProblem(pattern: string, what: string): string | undefined {
  try {
    compileGlob(pattern);
    return undefined;
  } catch (err) {
    if (err instanceof GlobSyntaxError) return `invalid ${what} ${quote(pattern)}: ${err.message}`;
    throw err;
  }
}

export function quote(text: string): string {
  return JSON.stringify(text.slice(0, 300));
}
