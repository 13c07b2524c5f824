import type { Command } from "commander";

/** SKELETON on main, filled in by its engineer: `wharf gc`. */
export function registerGc(program: Command): void {
  void program;
}
