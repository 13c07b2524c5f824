/** Where long transfers report progress; the CLI draws bars on a TTY, the library default is silence. */
export interface ProgressSink {
  task(label: string, total: number): ProgressTask;
}

export interface ProgressTask {
  /** Bytes done so far (may go back to 0 when a transfer restarts). */
  update(done: number): void;
  /** Finished; `note` replaces the rate, e.g. "cached" or "exists". */
  done(note?: string): void;
}

export const silentProgress: ProgressSink = {
  task: () => ({ update: () => undefined, done: () => undefined }),
};
