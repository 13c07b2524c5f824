import type { Command } from "commander";

/** SKELETON on main, filled in by its engineer: `wharf quota`. */
export function registerQuota(program: Command): void {
  void program;
}
