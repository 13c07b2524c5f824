import type { Command } from "commander";
import { checkKind } from "../../../client/defaults/index.js";

export interface KindDefaultOptions {
  kind?: string;
}

/** `--kind K` on commands that take a reference: a short name resolves through registries.K first. */
export function withKindDefault(command: Command): Command {
  return command.option(
    "--kind <kind>",
    "resolve a short name through this kind's default (registries.<kind> in ~/.config/wharf/config.yaml), e.g. chart, policy",
  );
}

export function kindDefault(options: KindDefaultOptions): { kind?: string } {
  return options.kind === undefined ? {} : { kind: checkKind(options.kind) };
}
