import { pino, type Logger } from "pino";
import type { LogLevel } from "./config.js";

/**
 * The server's log: one JSON object a line on stderr, levels as names (`"level":"info"`) and ISO times,
 * so lines can be read and filtered without pino's tables. Everything `wharf serve` says on stderr goes
 * through here; only the human `listening on URL` line goes to stdout.
 */
export function serverLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
