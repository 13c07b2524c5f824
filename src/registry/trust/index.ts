export * from "./types.js";
export * from "./state.js";
export { MAX_TRUST_KEYS, MAX_TRUST_POLICIES, MAX_POLICY_KEYS } from "./validate.js";
