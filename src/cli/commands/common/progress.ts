import type { ProgressSink, ProgressTask } from "../../../client/progress.js";
import { escapeControl, formatBytes } from "./format.js";

interface Line {
  label: string;
  total: number;
  done: number;
  started: number;
  finished?: string;
}

const FRAME_MS = 100;
const BAR_WIDTH = 20;
const MAX_LINES = 12;

/**
 * Progress bars on stderr, one line per transfer with bytes and rate, redrawn in place. Only on a TTY:
 * piped or redirected output gets none of it.
 */
export class ProgressBars implements ProgressSink {
  private readonly lines: Line[] = [];
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  static create(enabled: boolean): ProgressBars | undefined {
    return enabled && process.stderr.isTTY ? new ProgressBars() : undefined;
  }

  task(label: string, total: number): ProgressTask {
    // Labels are layer titles from the manifest: escaped like all output from the network.
    const line: Line = { label: escapeControl(label), total, done: 0, started: Date.now() };
    this.lines.push(line);
    this.timer ??= setInterval(() => this.render(), FRAME_MS).unref();
    return {
      update: (done) => {
        line.done = done;
      },
      done: (note) => {
        line.done = line.total;
        line.finished = note ?? "done";
      },
    };
  }

  /** Draws the final state and stops redrawing; later output goes below the bars. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.render();
    // Lines printed from now on are not ours to redraw: start afresh if more tasks come.
    this.lines.length = 0;
    this.drawn = 0;
  }

  private render(): void {
    // Finished lines beyond the screen budget scroll away: only the latest ones are redrawn.
    const visible = this.lines.slice(-MAX_LINES);
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : "";
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    for (const line of visible) text += `\x1b[2K${this.format(line).slice(0, width)}\n`;
    this.out.write(text);
    this.drawn = visible.length;
  }

  private format(line: Line): string {
    const fraction = line.total > 0 ? Math.min(line.done / line.total, 1) : 1;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = `[${"=".repeat(filled)}${filled < BAR_WIDTH ? ">" : ""}${" ".repeat(Math.max(0, BAR_WIDTH - filled - 1))}]`;
    const seconds = Math.max((Date.now() - line.started) / 1000, 0.001);
    const rate = line.finished ?? `${formatBytes(line.done / seconds)}/s`;
    const label = line.label.length > 28 ? `${line.label.slice(0, 27)}…` : line.label.padEnd(28);
    return `${label} ${bar} ${formatBytes(line.done).padStart(9)} / ${formatBytes(line.total).padEnd(9)} ${rate}`;
  }
}
