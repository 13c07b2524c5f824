import { createDigester, parseDigest } from "../oci/digest.js";
import type { Db } from "../metadata/database.js";
import { blobTotals, listBlobs, type KnownBlob } from "../metadata/blobs.js";
import type { Logger } from "pino";
import { BlobNotFoundError, type BlobStore } from "../storage/blob-store.js";
import type { KeyedLock } from "./keyed-lock.js";

/** Blobs read from the database at a time: memory stays bounded however many there are. */
const PAGE = 500;
/** Problems a report lists; beyond that they are only counted, so the report stays small. */
const MAX_LISTED_PROBLEMS = 1000;

export interface BlobProblem {
  digest: string;
  size: number;
  /** corrupt: the stored bytes do not match the digest (taken out of service); missing: not stored. */
  problem: "corrupt" | "missing";
  detail: string;
}

export interface VerifyProgress {
  checkedBlobs: number;
  totalBlobs: number;
  checkedBytes: number;
  totalBytes: number;
}

export interface VerifyReport extends VerifyProgress {
  corrupt: number;
  missing: number;
  /** The first MAX_LISTED_PROBLEMS problems, in digest order. */
  problems: BlobProblem[];
  /** Whether there were more problems than listed. */
  truncated: boolean;
}

export interface VerificationState {
  state: "idle" | "running" | "done" | "failed";
  startedBy?: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: VerifyProgress;
  report?: VerifyReport;
  error?: string;
}

/** Told what a verification does, for the audit log; awaited, so the state says done only after them. */
export interface VerificationHooks {
  quarantined(problem: BlobProblem): Promise<void>;
  finished(outcome: { report?: VerifyReport; error?: string }): Promise<void>;
}

/**
 * Re-hashes every blob the metadata says is stored, one streamed read each, and takes the ones whose
 * bytes no longer match their digest out of service (the store quarantines them), so that they answer
 * 404 and clients push them again, which repairs them. One verification runs at a time; its state is
 * kept for whoever asks (the CLI polls it) until the next one starts.
 */
export class StorageVerification {
  private current: VerificationState = { state: "idle" };
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly store: BlobStore,
    /** The lock uploads hold while they commit a blob file: a suspect is condemned under it. */
    private readonly commits: KeyedLock,
    private readonly log: Logger,
  ) {}

  status(): VerificationState {
    return structuredClone(this.current);
  }

  /** Starts a verification and returns true, or false when one is running already (the caller joins it). */
  async start(actor: string, hooks: VerificationHooks): Promise<boolean> {
    if (this.running) return false;
    const totals = await blobTotals(this.db);
    if (this.running) return false;
    const progress: VerifyProgress = {
      checkedBlobs: 0,
      totalBlobs: totals.count,
      checkedBytes: 0,
      totalBytes: totals.bytes,
    };
    this.current = { state: "running", startedBy: actor, startedAt: new Date().toISOString(), progress };
    this.running = this.runAndFinish(progress, hooks);
    return true;
  }

  /** Never rejects: whatever fails (the run, the hook), the state is settled and the next run may start. */
  private async runAndFinish(progress: VerifyProgress, hooks: VerificationHooks): Promise<void> {
    let outcome: { state: "done"; report: VerifyReport } | { state: "failed"; error: string };
    try {
      outcome = { state: "done", report: await this.run(progress, hooks) };
    } catch (err) {
      outcome = { state: "failed", error: err instanceof Error ? err.message : String(err) };
    }
    try {
      await hooks.finished(outcome.state === "done" ? { report: outcome.report } : { error: outcome.error });
    } catch (err) {
      this.log.error({ err }, "storage verification: recording its outcome failed");
    } finally {
      this.finish(outcome);
    }
  }

  private finish(outcome: Partial<VerificationState>): void {
    this.current = { ...this.current, ...outcome, finishedAt: new Date().toISOString() };
    this.running = undefined;
  }

  private async run(progress: VerifyProgress, hooks: VerificationHooks): Promise<VerifyReport> {
    const report: VerifyReport = { ...progress, corrupt: 0, missing: 0, problems: [], truncated: false };
    let after: string | undefined;
    for (;;) {
      const page = await listBlobs(this.db, after, PAGE);
      for (const blob of page) {
        const problem = await this.check(blob, (bytes) => (progress.checkedBytes += bytes));
        progress.checkedBlobs += 1;
        if (!problem) continue;
        if (problem.problem === "corrupt") {
          await hooks.quarantined(problem);
          report.corrupt += 1;
        } else {
          report.missing += 1;
        }
        if (report.problems.length < MAX_LISTED_PROBLEMS) report.problems.push(problem);
        else report.truncated = true;
      }
      if (page.length < PAGE) break;
      after = page.at(-1)?.digest;
    }
    return { ...report, ...progress };
  }

  private async check(blob: KnownBlob, onBytes: (bytes: number) => void): Promise<BlobProblem | undefined> {
    const problem = (kind: BlobProblem["problem"], detail: string): BlobProblem => ({
      digest: blob.digest,
      size: blob.size,
      problem: kind,
      detail,
    });
    const stored = await this.store.stat(blob.digest);
    if (!stored) return problem("missing", "not in storage");
    if (stored.size === blob.size) {
      if ((await this.hash(blob.digest, onBytes)) === blob.digest) return undefined;
    } else {
      onBytes(blob.size);
    }
    // A push may be replacing the file right now: look again with commits of this digest held off, so
    // the copy found bad is the one taken out of service, never a good one renamed in meanwhile.
    return this.commits.run(blob.digest, () => this.condemn(blob, problem));
  }

  /** Checks a suspect again and quarantines it when it is still bad (the caller holds its commit lock). */
  private async condemn(
    blob: KnownBlob,
    problem: (kind: BlobProblem["problem"], detail: string) => BlobProblem,
  ): Promise<BlobProblem | undefined> {
    const stored = await this.store.stat(blob.digest);
    if (!stored) return problem("missing", "not in storage");
    let detail: string;
    if (stored.size !== blob.size) {
      detail = `stored size is ${stored.size} bytes, not ${blob.size}`;
    } else {
      const again = await this.hash(blob.digest, () => undefined);
      if (again === blob.digest) return undefined;
      if (again === null) return problem("missing", "not in storage");
      detail = `content hashes to ${again}`;
    }
    await this.store.quarantine(blob.digest);
    return problem("corrupt", detail);
  }

  /** The stored bytes' digest (same algorithm as `digest`), or null when the blob is not stored. */
  private async hash(digest: string, onBytes: (bytes: number) => void): Promise<string | null> {
    const { algorithm } = parseDigest(digest);
    const hash = createDigester(algorithm);
    let stream;
    try {
      stream = await this.store.read(digest);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return null;
      throw err;
    }
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      onBytes((chunk as Buffer).length);
    }
    return `${algorithm}:${hash.digest("hex")}`;
  }
}
