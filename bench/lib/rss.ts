import { readdirSync, readFileSync } from "node:fs";

/** Current resident set size of a process in bytes, or 0 once it is gone. */
export function readRss(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process: listed per thread, so every task's list is read (a thread may fork). */
function children(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
      try {
        const list = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        return list ? list.split(/\s+/).map(Number) : [];
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** `roots` and all their descendants (a supervisor and its workers; a load balancer's nodes). */
export function processTree(roots: number[]): number[] {
  const seen = new Set<number>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pid = queue.pop() ?? 0;
    if (pid <= 0 || seen.has(pid)) continue;
    seen.add(pid);
    queue.push(...children(pid));
  }
  return [...seen];
}

export interface RssPeak {
  /** The highest sum over the tree at one sample. */
  total: number;
  /** The highest single process (with workers: the biggest worker). */
  perProcess: number;
  /** The most processes seen at one sample (workers that came and went are not added up). */
  processes: number;
}

/**
 * Samples VmRSS of a process tree every `intervalMs` while running; VmHWM cannot be reset between
 * workloads, so the peak of the samples is the workload's peak. The tree is walked at every sample, so
 * a worker that is replaced mid-run is still counted.
 */
export class RssSampler {
  private readonly peak: RssPeak = { total: 0, perProcess: 0, processes: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly roots: number[],
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    const sizes = processTree(this.roots).map(readRss);
    this.peak.total = Math.max(
      this.peak.total,
      sizes.reduce((a, b) => a + b, 0),
    );
    this.peak.perProcess = Math.max(this.peak.perProcess, ...sizes);
    this.peak.processes = Math.max(this.peak.processes, sizes.filter((s) => s > 0).length);
  }

  /** Stops sampling and returns the peaks in bytes. */
  stop(): RssPeak {
    clearInterval(this.timer);
    this.sample();
    return { ...this.peak };
  }
}
