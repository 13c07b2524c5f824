/** Retention policies as /api/v1/retention answers them (the server's own types: one shape). */
export type { RetentionPolicy as RetentionPolicyDto, RetentionRules } from "../registry/retention/rules.js";
export type {
  RetentionPreview,
  RetentionResult,
  PlannedRemoval,
  PolicyInput,
} from "../registry/retention/service.js";
