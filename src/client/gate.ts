import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { UsageError, WharfError, errorMessage } from "./errors.js";

/** The file a pushed directory declares its gate in, at its root. */
export const GATE_FILE = "wharf.yaml";
/** A wharf.yaml is a few lines; anything bigger is not one. */
const MAX_GATE_FILE = 64 * 1024;

/** A pre-publish check that failed: nothing was published. */
export class GateError extends WharfError {}

export interface Gate {
  command: string;
  /** Where it runs: the pushed directory, or the current one. */
  cwd: string;
  /** For messages: `--gate` or the wharf.yaml it was declared in. */
  origin: string;
}

/**
 * The `gate:` command a directory declares in its wharf.yaml, if any. A wharf.yaml that cannot be read
 * as YAML, or whose gate is not a command, is a usage error naming the file: a gate that was meant to
 * run must not be skipped silently.
 */
export async function declaredGate(dir: string): Promise<Gate | undefined> {
  const path = join(dir, GATE_FILE);
  let text: string;
  try {
    const file = await open(path, "r");
    try {
      const buffer = Buffer.alloc(MAX_GATE_FILE + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_GATE_FILE) throw new UsageError(`${path} is larger than ${MAX_GATE_FILE} bytes`);
      text = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await file.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${path}: ${errorMessage(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(`${path} is not valid YAML: ${errorMessage(err).split("\n")[0]}`);
  }
  if (doc === null || doc === undefined) return undefined;
  if (typeof doc !== "object" || Array.isArray(doc)) throw new UsageError(`${path} must be a mapping`);
  const gate = (doc as Record<string, unknown>).gate;
  if (gate === undefined || gate === null) return undefined;
  if (typeof gate !== "string" || gate.trim() === "") {
    throw new UsageError(`${path}: gate must be a shell command (a string)`);
  }
  return { command: gate, cwd: dir, origin: path };
}

/**
 * Runs a gate with the shell in its directory, WHARF_REF set to the reference being published, its
 * output (stdout too) streamed to stderr so that push's stdout stays the digest alone. Resolves when it
 * exits 0; otherwise throws a GateError naming the command and its exit code or signal.
 */
export async function runGate(gate: Gate, reference: string, env: NodeJS.ProcessEnv): Promise<void> {
  const outcome = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve, reject) => {
      const child = spawn(gate.command, {
        shell: true,
        cwd: gate.cwd,
        env: { ...env, WHARF_REF: reference },
        stdio: ["ignore", process.stderr, process.stderr],
      });
      child.on("error", reject);
      child.on("exit", (code, signal) => resolve({ code, signal }));
    },
  ).catch((err: unknown) => {
    throw new GateError(`the gate ${quote(gate)} could not start: ${errorMessage(err)}`);
  });
  if (outcome.code === 0) return;
  const how = outcome.signal ? `was killed by ${outcome.signal}` : `failed with exit code ${outcome.code}`;
  throw new GateError(`the gate ${quote(gate)} ${how}: nothing was pushed`);
}

function quote(gate: Gate): string {
  const command = gate.command.length > 200 ? `${gate.command.slice(0, 200)}…` : gate.command;
  return `\`${command}\`${gate.origin === "--gate" ? "" : ` (from ${gate.origin})`}`;
}
