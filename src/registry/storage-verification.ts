import { createDigester, parseDigest } from "../oci/digest.js";
import type { Db } from "../metadata/database.js";
import { blobTotals, listBlobs, type KnownBlob } from "../metadata/blobs.js";
import { BlobNotFoundError, type BlobStore } from "../storage/blob-store.js";

/** Blobs read from the database at a time: memory stays bounded however many there are. */
const PAGE = 500;
/** Problems a report lists; beyond that they are only counted, so the report stays small. */
export const MAX_LISTED_PROBLEMS = 1000;

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
    this.running = this.run(progress, hooks).then(
      async (report) => {
        await hooks.finished({ report });
        this.finish({ state: "done", report });
      },
      async (err: unknown) => {
        const error = err instanceof Error ? err.message : String(err);
        await hooks.finished({ error });
        this.finish({ state: "failed", error });
      },
    );
    return true;
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
          await this.store.quarantine(blob.digest);
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
    if (stored.size !== blob.size) {
      onBytes(blob.size);
      return problem("corrupt", `stored size is ${stored.size} bytes, not ${blob.size}`);
    }
    const actual = await this.hash(blob.digest, onBytes);
    if (actual === blob.digest) return undefined;
    // A push may have replaced the file while it was read: only a second bad read condemns it.
    const again = actual === null ? null : await this.hash(blob.digest, () => undefined);
    if (again === blob.digest) return undefined;
    if (again === null) return problem("missing", "not in storage");
    return problem("corrupt", `content hashes to ${again}`);
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
