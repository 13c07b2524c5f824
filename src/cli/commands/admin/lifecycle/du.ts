import type { Command } from "commander";

/** SKELETON on main, filled in by its engineer: `wharf du`. */
export function registerDu(program: Command): void {
  void program;
}
