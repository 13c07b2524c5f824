import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import type { HashReply, HashRequest, HashRequestBody } from "./hash-protocol.js";

/**
 * SHA-256 whose state can be saved after a chunk and restored on any node for the next one, so that a
 * chunked upload is never read back to be verified, wherever its chunks arrive. node:crypto cannot save
 * its state; hash-wasm's saved state is ~100 bytes, kept with the upload's row. It is several times
 * slower than node:crypto, so it runs on worker threads: the event loop only copies each chunk once.
 */
export interface ResumableHash {
  /** Queues bytes; resolves at once unless too many are queued (backpressure), then when they drain. */
  update(data: Buffer): Promise<void>;
  /** The state after everything queued so far. */
  save(): Promise<Buffer>;
  /** The final digest as hex; the hash is spent afterwards. */
  hex(): Promise<string>;
  /** Forgets the hash (after a failure). */
  close(): void;
}

/** Bytes queued for a hash's thread beyond which update() waits: bounds memory per upload. */
const MAX_QUEUED = 8 * 1024 * 1024;

interface Pending {
  resolve(reply: HashReply): void;
  reject(err: Error): void;
}

/** A few threads shared by every upload of the process, each hash pinned to one (its order matters). */
class HashPool {
  private readonly threads: Worker[] = [];
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private nextSeq = 1;

  private thread(id: number): Worker {
    const size = Math.min(Math.max(availableParallelism() - 1, 1), 4);
    if (this.threads.length < size) {
      const worker = new Worker(new URL("./hash-worker.js", import.meta.url));
      // Idle threads must not keep a stopping server alive.
      worker.unref();
      worker.on("message", (reply: HashReply) => this.settle(reply));
      worker.on("error", (err) => this.failAll(err));
      this.threads.push(worker);
    }
    return this.threads[id % this.threads.length] as Worker;
  }

  private settle(reply: HashReply): void {
    const key = `${reply.id}:${reply.seq}`;
    const waiter = this.pending.get(key);
    if (!waiter) return;
    this.pending.delete(key);
    if (reply.error) waiter.reject(new Error(`hashing failed: ${reply.error}`));
    else waiter.resolve(reply);
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
    this.threads.length = 0;
  }

  send(request: HashRequestBody, transfer: ArrayBuffer[] = []): Promise<HashReply> {
    const seq = this.nextSeq++;
    const message = { ...request, seq } as HashRequest;
    const thread = this.thread(request.id);
    return new Promise<HashReply>((resolve, reject) => {
      this.pending.set(`${request.id}:${seq}`, { resolve, reject });
      thread.postMessage(message, transfer);
    });
  }

  newId(): number {
    return this.nextId++;
  }
}

const pool = new HashPool();

/** A fresh hash, or one continuing from `state` (as save() returned it). */
export async function resumableSha256(state?: Uint8Array): Promise<ResumableHash> {
  const id = pool.newId();
  const initial = state ? copyOut(state) : undefined;
  await pool.send({ op: "open", id, state: initial }, initial ? [initial] : []);
  let queued = 0;
  let failure: Error | undefined;
  let drained: (() => void) | undefined;
  let last: Promise<unknown> = Promise.resolve();
  return {
    async update(data) {
      if (failure) throw failure;
      const copy = copyOut(data);
      queued += copy.byteLength;
      last = pool.send({ op: "update", id, data: copy }, [copy]).then(
        (reply) => {
          queued -= reply.bytes ?? 0;
          if (queued <= MAX_QUEUED / 2) drained?.();
        },
        (err: Error) => {
          failure = err;
          drained?.();
        },
      );
      if (queued > MAX_QUEUED) {
        await new Promise<void>((resolve) => (drained = resolve));
        drained = undefined;
        if (failure) throw failure;
      }
    },
    async save() {
      await last;
      if (failure) throw failure;
      const reply = await pool.send({ op: "save", id });
      return Buffer.from(reply.state ?? new ArrayBuffer(0));
    },
    async hex() {
      await last;
      if (failure) throw failure;
      return (await pool.send({ op: "digest", id })).hex ?? "";
    },
    close() {
      void pool.send({ op: "close", id }).catch(() => undefined);
    },
  };
}

/** The bytes in an ArrayBuffer of their own, which can be moved to a thread without a second copy. */
function copyOut(data: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(data.byteLength);
  new Uint8Array(copy).set(data);
  return copy;
}
