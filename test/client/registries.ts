import assert from "node:assert/strict";
import { startWharf } from "../helpers/server.js";
import { startDistribution } from "./distribution.js";
import type { CliResult } from "./cli.js";

export interface Registry {
  host: string;
  /** A Wharf's data directory (for `wharf … --data-dir`); none for other registries. */
  dataDir?: string;
  stop(): Promise<void>;
}

/** The registries client tests run against; `api`: it has Wharf's discovery API (asked before any index). */
export const registries: { name: string; api: boolean; start(): Promise<Registry> }[] = [
  { name: "Distribution 2.8 (docker-registry)", api: false, start: () => startDistribution() },
  { name: "wharf serve", api: true, start: () => startWharf() },
];

/** The command succeeded (else the assertion shows its output). */
export function ok(result: CliResult): CliResult {
  assert.equal(result.code, 0, `exit ${result.code}\n${result.stderr}\n${result.stdout}`);
  return result;
}
