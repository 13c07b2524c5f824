/** Messages between the hash pool and its worker threads (resumable-hash.ts, hash-worker.ts). */
export type HashRequest = HashRequestBody & { seq: number };

/** A request before the pool numbers it. */
export type HashRequestBody =
  | { op: "open"; id: number; state?: ArrayBuffer }
  | { op: "update"; id: number; data: ArrayBuffer }
  | { op: "save"; id: number }
  | { op: "digest"; id: number }
  | { op: "close"; id: number };

export interface HashReply {
  id: number;
  seq: number;
  error?: string;
  bytes?: number;
  state?: ArrayBuffer;
  hex?: string;
}
