import { RssSampler } from "./rss.js";
import type { Target } from "./servers.js";
import { MiB } from "./stats.js";

export interface Metric {
  key: string;
  label: string;
  higherIsBetter: boolean;
  /** Shown for context, not a comparison (e.g. how many pages a listing took). */
  informational?: boolean;
}

export interface Options {
  quick: boolean;
  /** Scratch directory on the same filesystem as the servers' data dirs. */
  scratch: string;
}

/** Samples per target name (bench/lib/targets.ts) per metric key, plus raw worker output. */
export interface WorkloadResult {
  name: string;
  metrics: Metric[];
  samples: Record<string, Record<string, number[]>>;
  raw: Record<string, unknown[]>;
}

export interface Workload<S> {
  name: string;
  metrics: Metric[];
  /** Repetitions of the README's targets; the scale-out targets run at most SCALE_OUT_REPS of them. */
  reps: number;
  /** Also run against the static calibration server. */
  calibrate?: boolean;
  /** Only these targets (by name); default every target the run started. */
  targets?: readonly string[];
  /** Untimed preparation per target (seeding). */
  setup?: (target: Target) => Promise<S>;
  /** One timed repetition; returns a value per metric key and the raw output to keep. */
  measure: (
    target: Target,
    state: S,
    rep: number,
  ) => Promise<{ values: Record<string, number>; raw?: unknown }>;
}

export interface Runnable {
  name: string;
  run(targets: Target[], log: (line: string) => void): Promise<WorkloadResult>;
}

/** The targets of the README's first table, which keep every repetition so that it stays comparable. */
const README_TARGETS = ["embedded", "distribution", "static"];
/** Enough for a median while four more targets keep the whole run well under an hour. */
const SCALE_OUT_REPS = 3;

/** The whole process tree (a supervisor and its workers; every node behind nginx, nginx not counted). */
export const RSS_METRIC: Metric = { key: "rss", label: "peak RSS MiB", higherIsBetter: false };
/** The biggest single process of the tree: with workers, the biggest worker. */
export const RSS_PROCESS_METRIC: Metric = {
  key: "rssProcess",
  label: "peak RSS MiB per process",
  higherIsBetter: false,
};

/**
 * Runs setup on each target, then the repetitions interleaved (A,B,A,B...) so machine drift hits all
 * targets alike; each target's RSS is sampled while its own repetitions run.
 */
export function workload<S>(w: Workload<S>): Runnable {
  return {
    name: w.name,
    async run(allTargets, log) {
      const targets = allTargets.filter(
        (t) => (w.calibrate || t.name !== "static") && (!w.targets || w.targets.includes(t.name)),
      );
      const states = new Map<string, S>();
      for (const target of targets) {
        if (w.setup) states.set(target.name, await w.setup(target));
      }
      const result: WorkloadResult = {
        name: w.name,
        metrics: [...w.metrics, RSS_METRIC, RSS_PROCESS_METRIC],
        samples: {},
        raw: {},
      };
      for (let rep = 0; rep < w.reps; rep++) {
        for (const target of targets) {
          if (rep >= SCALE_OUT_REPS && !README_TARGETS.includes(target.name)) continue;
          const sampler = new RssSampler(target.pids);
          const { values, raw } = await w.measure(target, states.get(target.name) as S, rep);
          const peak = sampler.stop();
          values.rss = peak.total / MiB;
          values.rssProcess = peak.perProcess / MiB;
          const samples = (result.samples[target.name] ??= {});
          for (const [key, value] of Object.entries(values)) (samples[key] ??= []).push(value);
          (result.raw[target.name] ??= []).push(raw ?? values);
          log(`  ${w.name} rep ${rep + 1}/${w.reps} ${target.name}: ${summary(values)}`);
        }
      }
      return result;
    },
  };
}

function summary(values: Record<string, number>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
    .join(" ");
}
