import { readFileSync } from "node:fs";
import { Command, Option } from "commander";
import { Cache } from "../../../client/cache.js";
import { Client } from "../../../client/client.js";
import { ExitCode, UsageError, WharfError, errorMessage } from "../../../client/errors.js";
import { escapeControl, parseDuration, parseSize, terminalJson } from "./format.js";
import { ProgressBars } from "./progress.js";

/** Options of client commands (each command has those of the kinds it needs). */
export interface CommonOptions {
  json?: boolean;
  plainHttp?: boolean;
  caFile?: string[];
  timeout?: string;
  concurrency?: string;
  chunkSize?: string;
  verbose?: boolean;
}

/**
 * The whole command's deadline unless --timeout says otherwise: generous, but not for ever. Commands
 * that move content get an hour (a big model over a slow link); the rest, whose every request is
 * small, two minutes.
 */
export const DEFAULT_TIMEOUT = "2m";
export const DEFAULT_TRANSFER_TIMEOUT = "1h";

/**
 * Adds the options a command needs: always --json and --verbose; unless `network: false`, the
 * transport ones (--plain-http, --ca-file, --timeout); with `transfers`, --concurrency, and for
 * uploads --chunk-size.
 */
export function withCommonOptions(
  command: Command,
  options: { network?: boolean; transfers?: "download" | "upload"; timeout?: string } = {},
): Command {
  command.option("--json", "print machine-readable JSON on stdout");
  if (options.network !== false) {
    command
      .option(
        "--plain-http",
        "use plain HTTP for the registries named (automatic for localhost and 127.0.0.1)",
      )
      .option(
        "--ca-file <file>",
        "trust this CA certificate (PEM) as well as the system ones; repeatable",
        collect,
        [],
      )
      .addOption(
        new Option(
          "--timeout <duration>",
          "give up after this long (from the first request), e.g. 30s, 5m, 2h; 0 for never",
        ).default(options.timeout ?? (options.transfers ? DEFAULT_TRANSFER_TIMEOUT : DEFAULT_TIMEOUT)),
      );
  }
  command.option("-v, --verbose", "more detail on stderr (retries, stack traces of failures)");
  if (options.transfers) {
    command.addOption(new Option("--concurrency <n>", "blobs transferred in parallel").default("4"));
  }
  if (options.transfers === "upload") {
    command.option("--chunk-size <size>", "upload in chunks of this size (e.g. 8M) instead of one request");
  }
  return command;
}

/** `--timeout`: a duration, or 0 for none. */
export function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "0") return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`--timeout ${text}: expected a duration such as 30s, 5m or 1h (0 for none)`);
  return ms;
}

/** Commander parser for a repeatable option. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Everything a command needs at run time: client, cache, output helpers. */
export class Context {
  readonly client: Client;
  readonly progress: ProgressBars | undefined;
  readonly json: boolean;

  constructor(
    readonly options: CommonOptions,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.json = options.json === true;
    const concurrency = options.concurrency === undefined ? 4 : Number(options.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new UsageError("--concurrency must be a positive integer");
    const chunkSize = options.chunkSize === undefined ? undefined : parseSize(options.chunkSize);
    if (chunkSize === 0 || (options.chunkSize !== undefined && chunkSize === undefined)) {
      throw new UsageError(`--chunk-size ${options.chunkSize}: expected a size such as 8M`);
    }
    const ca = (options.caFile ?? []).map((file) => {
      try {
        return readFileSync(file);
      } catch {
        throw new UsageError(`cannot read CA file ${file}`);
      }
    });
    this.client = new Client({
      env,
      plainHttp: options.plainHttp,
      ca,
      concurrency,
      chunkSize,
      retry: retryFromEnv(env),
      timeoutMs: parseTimeout(options.timeout),
      connectTimeoutMs: durationFromEnv(env, "WHARF_CONNECT_TIMEOUT"),
      responseTimeoutMs: durationFromEnv(env, "WHARF_RESPONSE_TIMEOUT"),
      // Someone watching a terminal should know why nothing moves; logs and pipes stay quiet.
      onRetry: options.verbose || process.stderr.isTTY ? (message) => this.note(message) : undefined,
    });
    this.progress = this.json ? undefined : ProgressBars.create(true);
  }

  cache(): Cache {
    return new Cache(Cache.location(this.env));
  }

  // Everything printed goes through escapeControl: names, tags, annotations and server messages come
  // from the network and must not reach the terminal as control sequences.

  /** A human message on stderr (status, not data): one line, whatever it quotes. */
  note(message: string): void {
    process.stderr.write(`${escapeControl(message)}\n`);
  }

  /** A failure on stderr, as `wharf: …` (the command may go on, as pull -f does). */
  error(message: string): void {
    this.note(`wharf: ${message}`);
  }

  /** Data on stdout. */
  print(text: string): void {
    if (text !== "") process.stdout.write(`${escapeControl(text, true)}\n`);
  }

  /** One item per line (names, tags): a newline inside an item is escaped, never a line of its own. */
  printLines(items: string[]): void {
    if (items.length > 0) process.stdout.write(`${items.map((item) => escapeControl(item)).join("\n")}\n`);
  }

  printJson(value: unknown): void {
    process.stdout.write(`${terminalJson(value)}\n`);
  }

  close(): void {
    this.progress?.stop();
    this.client.close();
  }
}

/** WHARF_RETRIES / WHARF_RETRY_DELAY_MS, mainly so tests against a dead registry need not wait. */
function retryFromEnv(env: NodeJS.ProcessEnv): { retries?: number; baseDelayMs?: number } {
  const retry: { retries?: number; baseDelayMs?: number } = {};
  if (env.WHARF_RETRIES && /^\d+$/.test(env.WHARF_RETRIES)) retry.retries = Number(env.WHARF_RETRIES);
  if (env.WHARF_RETRY_DELAY_MS && /^\d+$/.test(env.WHARF_RETRY_DELAY_MS))
    retry.baseDelayMs = Number(env.WHARF_RETRY_DELAY_MS);
  return retry;
}

/**
 * WHARF_CONNECT_TIMEOUT / WHARF_RESPONSE_TIMEOUT: the per-request waits (defaults 10s and 20s), for a
 * registry known to be slow to connect to or to answer (or, in tests, known to be dead).
 */
function durationFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text.trim() === "") return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new UsageError(`${name}=${text}: expected a duration such as 10s or 1m`);
  }
  return ms;
}

/**
 * Runs a command body with a Context, and turns failures into a message on stderr (and a JSON error on
 * stdout with --json) plus the exit code of their kind.
 */
export async function runCommand(
  options: CommonOptions,
  body: (ctx: Context) => Promise<number | void>,
): Promise<void> {
  let ctx: Context | undefined;
  try {
    ctx = new Context(options);
    const code = await body(ctx);
    process.exitCode = code ?? ExitCode.Ok;
  } catch (err) {
    ctx?.progress?.stop();
    const exitCode = err instanceof WharfError ? err.exitCode : ExitCode.Failure;
    const message = errorMessage(err);
    if (ctx) ctx.error(message);
    else process.stderr.write(`wharf: ${escapeControl(message)}\n`);
    if (options.verbose && err instanceof Error && !(err instanceof WharfError))
      process.stderr.write(`${err.stack}\n`);
    if (options.json) {
      const kind = err instanceof WharfError ? err.name : "Error";
      process.stdout.write(`${terminalJson({ error: { kind, message, exitCode } })}\n`);
    }
    process.exitCode = exitCode;
  } finally {
    ctx?.close();
  }
}

/** The `Examples:` block every command's --help ends with. */
export function examples(command: Command, lines: string[]): Command {
  return command.addHelpText("after", `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
}
