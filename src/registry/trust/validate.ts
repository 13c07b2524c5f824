import { repositoryGlobProblem, ruleNameProblem } from "../rule-patterns.js";
import { TRUST_MODES, TrustError, type NewTrustPolicy, type TrustMode } from "./types.js";

export const MAX_TRUST_KEYS = 1000;
export const MAX_TRUST_POLICIES = 1000;
export const MAX_POLICY_KEYS = 64;
/** A PEM public key or certificate chain is a few KB; anything much larger is not one. */
export const MAX_KEY_PEM_BYTES = 64 * 1024;

export function checkKeyName(name: string): void {
  const problem = ruleNameProblem(name, "key");
  if (problem) throw new TrustError("invalid", problem);
}

/** Checks a new policy (not yet whether its keys exist: that is read in the change's transaction). */
export function validatePolicy(input: NewTrustPolicy): NewTrustPolicy & { mode: TrustMode } {
  const problem = ruleNameProblem(input.name, "policy") ?? repositoryGlobProblem(input.repositories);
  if (problem) throw new TrustError("invalid", problem);
  if (!(TRUST_MODES as readonly string[]).includes(input.mode)) {
    throw new TrustError(
      "invalid",
      `invalid mode ${JSON.stringify(input.mode.slice(0, 40))}: use warn or enforce`,
    );
  }
  if (input.keys.length === 0) throw new TrustError("invalid", "a policy needs at least one key");
  if (input.keys.length > MAX_POLICY_KEYS) {
    throw new TrustError("invalid", `a policy names at most ${MAX_POLICY_KEYS} keys`);
  }
  for (const key of input.keys) checkKeyName(key);
  const keys = [...new Set(input.keys)];
  return { ...input, keys, mode: input.mode as TrustMode };
}
