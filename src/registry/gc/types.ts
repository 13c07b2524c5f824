/** Garbage collection's shared vocabulary: options, what a phase is given, what it reports. */

export interface GcOptions {
  /** Only what nothing touched for this long is collected. */
  graceMs: number;
  /** Scheduled runs (retention, then collection) this often; 0 for on demand only. */
  intervalMs: number;
  /** Collect manifests no tag names. */
  untagged: boolean;
}

export const DEFAULT_GC_OPTIONS: GcOptions = { graceMs: 3600_000, intervalMs: 0, untagged: false };

/** What one removal was: reported by `wharf gc` (and, in a dry run, what would go). */
export interface RemovedItem {
  kind: "manifest" | "link" | "blob" | "orphan" | "upload";
  repository?: string;
  /** The digest (manifests, links, blobs, orphan files) or the upload session's id. */
  digest?: string;
  id?: string;
  /** Bytes the store gives back (0 for links and manifests, whose bytes are the blobs' or the database's). */
  bytes: number;
  /** Why it goes, in a few words: `untagged`, `subject gone`, `unreferenced`, `unknown to the database`. */
  reason: string;
}

export interface PhaseReport {
  phase: string;
  /** How many items the phase removed (or would remove). */
  count: number;
  /** Bytes reclaimed from the store. */
  bytes: number;
  /** Candidates skipped because something touched them meanwhile (the compare-and-swap lost). */
  skipped: number;
}

/**
 * What earlier phases removed or, in a dry run, would have removed: later phases treat these as gone, so
 * a dry run reports what the real run removes. Keys are `${repository}@${digest}`.
 */
export interface PlannedRemovals {
  manifests: Set<string>;
  links: Set<string>;
}

export interface SweepContext {
  dryRun: boolean;
  /** Only what was last touched before this goes (the run's start minus the grace window). */
  cutoff: Date;
  planned: PlannedRemovals;
  /** Records one removal (kept in the report up to a bound; counted always). */
  removed(item: RemovedItem): void;
  /** Work done in the current phase, for progress on a terminal. */
  progress(done: number, total?: number): void;
  /** Aborted when the run must stop (its lease was lost, the node stops): phases return promptly. */
  signal: AbortSignal;
}

/** One step of a collection; phases run in order, each seeing what the earlier ones removed. */
export interface SweepPhase {
  readonly name: string;
  run(ctx: SweepContext): Promise<Omit<PhaseReport, "phase">>;
}

/** At most this many items are listed in a report (all are counted). */
export const MAX_REPORTED_ITEMS = 10_000;

export interface GcReport {
  id: string;
  trigger: "schedule" | "manual";
  dryRun: boolean;
  actor: string;
  status: "running" | "done" | "failed";
  startedAt: string;
  finishedAt: string | null;
  graceMs: number;
  cutoff: string;
  phases: PhaseReport[];
  /** Totals over every phase. */
  count: number;
  bytes: number;
  items: RemovedItem[];
  /** More was removed than `items` lists. */
  truncated: boolean;
  error?: string;
  /** While running: the current phase and how far it got (null once finished). */
  progress?: GcProgress | null;
}

export interface GcProgress {
  phase: string;
  /** Items the phase looked at so far, out of `total` when it knows it. */
  done: number;
  total: number | null;
  /** Removed (or, in a dry run, planned) so far in this phase. */
  count: number;
  bytes: number;
}
