import { pino, type Logger } from "pino";
import type { LogLevel } from "./config.js";

/**
 * The server's log: one JSON object a line on stderr, levels as names (`"level":"info"`) so lines can
 * be read and filtered without pino's numeric table. Everything `wharf serve` says on stderr goes
 * through here; only the human `listening on URL` line goes to stdout.
 */
export function serverLogger(level: LogLevel): Logger {
  return pino(
    {
      level,
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
