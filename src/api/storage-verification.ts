/**
 * The admin API's storage verification as it goes over the wire (GET/POST /api/v1/storage/verify):
 * what the server answers and the CLI reads. The server's route checks at compile time that the
 * registry's state fits it.
 */

export interface BlobProblemDto {
  digest: string;
  size: number;
  /** corrupt: the stored bytes do not match the digest (taken out of service); missing: not stored. */
  problem: "corrupt" | "missing";
  detail: string;
}

export interface VerifyProgressDto {
  checkedBlobs: number;
  totalBlobs: number;
  checkedBytes: number;
  totalBytes: number;
}

export interface VerifyReportDto extends VerifyProgressDto {
  corrupt: number;
  missing: number;
  /** The first problems, in digest order (at most a thousand). */
  problems: BlobProblemDto[];
  /** Whether there were more problems than listed. */
  truncated: boolean;
}

export interface VerificationStateDto {
  state: "idle" | "running" | "done" | "failed";
  startedBy?: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: VerifyProgressDto;
  report?: VerifyReportDto;
  error?: string;
}
