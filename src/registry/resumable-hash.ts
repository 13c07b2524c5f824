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
  private readonly threads: (Worker | undefined)[] = [];
  private readonly pending = new Map<string, Pending & { thread: Worker }>();
  /** Requests in flight per thread: a thread with work keeps the process alive, an idle one does not. */
  private readonly busy = new Map<Worker, number>();
  private nextId = 1;
  private nextSeq = 1;
  /** One thread per spare CPU, up to 4 (WHARF_HASH_THREADS overrides it, for tests on small machines). */
  private readonly size =
    Number(process.env.WHARF_HASH_THREADS) || Math.min(Math.max(availableParallelism() - 1, 1), 4);

  /** The thread for a new hash, started on first use; a hash keeps the one it got. */
  assign(id: number): Worker {
    const slot = id % this.size;
    let worker = this.threads[slot];
    if (!worker) {
      const started = new Worker(new URL("./hash-worker.js", import.meta.url));
      started.on("message", (reply: HashReply) => this.settle(reply));
      started.on("error", (err) => this.fail(started, slot, err));
      // Idle threads must not keep a stopping process alive (after the listeners: they would ref it).
      started.unref();
      this.busy.set(started, 0);
      this.threads[slot] = worker = started;
    }
    return worker;
  }

  private settle(reply: HashReply): void {
    const key = `${reply.id}:${reply.seq}`;
    const waiter = this.pending.get(key);
    if (!waiter) return;
    this.pending.delete(key);
    this.done(waiter.thread);
    if (reply.error) waiter.reject(new Error(`hashing failed: ${reply.error}`));
    else waiter.resolve(reply);
  }

  /** A thread that died takes only its own hashes with it; the next hash in its slot gets a new one. */
  private fail(thread: Worker, slot: number, err: Error): void {
    for (const [key, waiter] of this.pending) {
      if (waiter.thread !== thread) continue;
      this.pending.delete(key);
      this.done(thread);
      waiter.reject(err);
    }
    if (this.threads[slot] === thread) this.threads[slot] = undefined;
  }

  private done(thread: Worker): void {
    const left = (this.busy.get(thread) ?? 1) - 1;
    this.busy.set(thread, left);
    if (left === 0) thread.unref();
  }

  send(thread: Worker, request: HashRequestBody, transfer: ArrayBuffer[] = []): Promise<HashReply> {
    const seq = this.nextSeq++;
    const busy = (this.busy.get(thread) ?? 0) + 1;
    this.busy.set(thread, busy);
    if (busy === 1) thread.ref();
    const message = { ...request, seq } as HashRequest;
    return new Promise<HashReply>((resolve, reject) => {
      this.pending.set(`${request.id}:${seq}`, { resolve, reject, thread });
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
  const thread = pool.assign(id);
  const initial = state ? copyOut(state) : undefined;
  await pool.send(thread, { op: "open", id, state: initial }, initial ? [initial] : []);
  let queued = 0;
  let failure: Error | undefined;
  let drained: (() => void) | undefined;
  let last: Promise<unknown> = Promise.resolve();
  return {
    async update(data) {
      if (failure) throw failure;
      const copy = copyOut(data);
      queued += copy.byteLength;
      last = pool.send(thread, { op: "update", id, data: copy }, [copy]).then(
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
      const reply = await pool.send(thread, { op: "save", id });
      return Buffer.from(reply.state ?? new ArrayBuffer(0));
    },
    async hex() {
      await last;
      if (failure) throw failure;
      return (await pool.send(thread, { op: "digest", id })).hex ?? "";
    },
    close() {
      void pool.send(thread, { op: "close", id }).catch(() => undefined);
    },
  };
}

/** The bytes in an ArrayBuffer of their own, which can be moved to a thread without a second copy. */
function copyOut(data: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(data.byteLength);
  new Uint8Array(copy).set(data);
  return copy;
}
