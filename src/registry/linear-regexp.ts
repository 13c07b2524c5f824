import { setFlagsFromString } from "node:v8";

let enabled = false;

/**
 * Policies carry caller-written regexes (Go RE2 syntax, linear-time in Flux), applied here to every tag
 * of a repository. V8's backtracking engine can take exponential time on patterns like `(a+)+$`; this
 * makes it switch to its linear-time engine for a match that backtracks too much, so one anonymous
 * request cannot pin a server process. RE2 syntax has no backreferences or lookarounds, which that
 * engine lacks, so results do not change. Process-wide and idempotent.
 */
export function enableLinearRegexpFallback(): void {
  if (enabled) return;
  setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");
  enabled = true;
}
