import type { Command } from "commander";

/** SKELETON on main, filled in by its engineer: `wharf retention`. */
export function registerRetention(program: Command): void {
  void program;
}
